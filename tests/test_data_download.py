"""download() and verify_checksum(): atomic writes, digests, offline errors. No network:
file:// URLs exercise the real urllib path, and a monkeypatched urlopen plays the offline
or flaky server."""

import hashlib
import os
import io
import urllib.error
import urllib.request

import pytest

from tinycoat.data import DatasetError, download, file_digest, verify_checksum

PAYLOAD = bytes(range(256)) * 5000  # 1.28 MB: more than one 1 MiB chunk


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "src" / "payload.bin"
    path.parent.mkdir()
    path.write_bytes(PAYLOAD)
    return path


def leftovers(folder):
    """Anything in the folder besides the final files: temp/partial files must not survive."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_file_digest_matches_hashlib(source):
    assert file_digest(source, "md5") == hashlib.md5(PAYLOAD).hexdigest()
    assert file_digest(source, "sha256") == hashlib.sha256(PAYLOAD).hexdigest()


def test_verify_checksum_accepts_match_and_names_file_on_mismatch(source):
    verify_checksum(source, sha256=hashlib.sha256(PAYLOAD).hexdigest().upper())  # case-insensitive
    wrong = "0" * 32
    with pytest.raises(DatasetError) as err:
        verify_checksum(source, md5=wrong)
    msg = str(err.value)
    assert str(source) in msg and wrong in msg and hashlib.md5(PAYLOAD).hexdigest() in msg


def test_verify_checksum_needs_a_digest(source):
    with pytest.raises(ValueError):
        verify_checksum(source)


def test_download_from_file_url_verifies_and_leaves_no_temp(tmp_path, source):
    dest = tmp_path / "out" / "payload.bin"
    got = download(source.as_uri(), dest, md5=hashlib.md5(PAYLOAD).hexdigest(),
                   sha256=hashlib.sha256(PAYLOAD).hexdigest(), progress=False)
    assert got == dest.resolve()
    assert dest.read_bytes() == PAYLOAD
    assert leftovers(dest.parent) == []
    if os.name == "posix":                          # the mode of a new file, not mkstemp's private 0600
        from tinycoat.files import new_file_mode
        assert dest.stat().st_mode & 0o777 == new_file_mode()


def test_download_checksum_mismatch_deletes_temp_and_keeps_old_file(tmp_path, source):
    dest = tmp_path / "payload.bin"
    dest.write_bytes(b"previous good copy")
    with pytest.raises(DatasetError) as err:
        download(source.as_uri(), dest, sha256="ab" * 32, progress=False)
    msg = str(err.value)
    assert "payload.bin" in msg and "ab" * 32 in msg and hashlib.sha256(PAYLOAD).hexdigest() in msg
    assert "was not kept: run again" in msg and "delete it" not in msg      # (there is nothing to delete)
    assert dest.read_bytes() == b"previous good copy"  # never replaced by the bad download
    assert leftovers(tmp_path) == []


def test_offline_error_names_url_and_where_to_put_the_file(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    dest = tmp_path / "data" / "cifar-10-binary.tar.gz"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
    with pytest.raises(DatasetError) as err:
        download(url, dest, progress=False)
    msg = str(err.value)
    assert url in msg and str(dest.resolve()) in msg and "name resolution" in msg
    assert not dest.exists() and leftovers(dest.parent) == []


class FlakyResponse(io.BytesIO):
    """A response that announces more bytes than it has, or dies mid-body."""

    def __init__(self, body, length, fail_after=None):
        super().__init__(body)
        self.headers = {"Content-Length": str(length)}
        self.fail_after = fail_after

    def read(self, size=-1):
        if self.fail_after is not None and self.tell() >= self.fail_after:
            raise ConnectionResetError("connection reset by peer")
        return super().read(size)


@pytest.mark.parametrize("response", [
    lambda: FlakyResponse(PAYLOAD[:1000], length=len(PAYLOAD)),  # server closes early
    lambda: FlakyResponse(PAYLOAD, length=len(PAYLOAD), fail_after=1 << 20),  # reset mid-way
], ids=["short-body", "reset"])
def test_interrupted_download_raises_and_leaves_nothing(tmp_path, monkeypatch, response):
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: response())
    dest = tmp_path / "payload.bin"
    with pytest.raises(DatasetError, match="could not download"):
        download("http://example.invalid/payload.bin", dest, progress=False)
    assert list(tmp_path.iterdir()) == []
