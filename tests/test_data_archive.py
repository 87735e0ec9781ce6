"""safe_extract_tar(): good archives extract; every escaping member is refused by name,
before anything is written."""

import io
import random
import tarfile

import pytest

from tinycoat.data import DatasetError, safe_extract_tar


def make_tar(path, members):
    """members: list of (TarInfo kwargs, bytes or None)."""
    with tarfile.open(path, "w:gz") as tar:
        for fields, data in members:
            info = tarfile.TarInfo(fields.pop("name"))
            for key, value in fields.items():
                setattr(info, key, value)
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def file_member(name, data=b"hello"):
    return {"name": name}, data


def test_good_archive_with_folders_and_inner_links(tmp_path):
    archive = make_tar(tmp_path / "good.tar.gz", [
        ({"name": "top", "type": tarfile.DIRTYPE}, None),
        file_member("top/a.txt", b"alpha"),
        file_member("top/sub/b.txt", b"beta"),
        ({"name": "top/link", "type": tarfile.SYMTYPE, "linkname": "sub/b.txt"}, None),
        ({"name": "top/hard", "type": tarfile.LNKTYPE, "linkname": "top/a.txt"}, None),
    ])
    out = safe_extract_tar(archive, tmp_path / "out")
    assert (out / "top/a.txt").read_bytes() == b"alpha"
    assert (out / "top/sub/b.txt").read_bytes() == b"beta"
    assert (out / "top/link").read_bytes() == b"beta"
    assert (out / "top/hard").read_bytes() == b"alpha"


BAD_MEMBERS = {
    "dotdot": ([file_member("../evil")], "'../evil'"),
    "dotdot-inside": ([file_member("top/../../evil")], "'top/../../evil'"),
    "absolute": ([file_member("/tmp/tinycoat-evil-abs")], "absolute"),
    "symlink-absolute": ([({"name": "top/passwd", "type": tarfile.SYMTYPE,
                            "linkname": "/etc/passwd"}, None)], "'top/passwd'"),
    "symlink-escaping": ([({"name": "top/up", "type": tarfile.SYMTYPE,
                            "linkname": "../../outside"}, None)], "'top/up'"),
    # Harmless-looking on its own, but "top/b" could later become a link to "."
    "symlink-through-dotdot": ([({"name": "top/a", "type": tarfile.SYMTYPE,
                                  "linkname": "b/.."}, None)], "'top/a'"),
    "hardlink-escaping": ([({"name": "top/h", "type": tarfile.LNKTYPE,
                             "linkname": "../outside"}, None)], "'top/h'"),
    "hardlink-absolute": ([({"name": "top/h", "type": tarfile.LNKTYPE,
                             "linkname": "/etc/passwd"}, None)], "'top/h'"),
    "hardlink-to-a-later-member": ([({"name": "top/h", "type": tarfile.LNKTYPE, "linkname": "top/later"}, None),
                                    file_member("top/later")], "not a regular file earlier in the archive"),
    "hardlink-to-a-folder": ([({"name": "top/d", "type": tarfile.DIRTYPE}, None),
                              ({"name": "top/h", "type": tarfile.LNKTYPE, "linkname": "top/d"}, None)],
                             "'top/h' is a hard link to 'top/d', which is not a regular file"),
    "char-device": ([({"name": "top/tty", "type": tarfile.CHRTYPE}, None)], "device"),
    "fifo": ([({"name": "top/pipe", "type": tarfile.FIFOTYPE}, None)], "FIFO"),
}


@pytest.mark.parametrize("case", sorted(BAD_MEMBERS))
def test_malicious_member_is_refused_and_nothing_written(tmp_path, case):
    bad, expected_text = BAD_MEMBERS[case]
    # A good member first: it must not be written either (all members are checked first).
    archive = make_tar(tmp_path / "bad.tar.gz", [file_member("top/ok.txt")] + bad)
    target = tmp_path / "box" / "target"
    with pytest.raises(DatasetError) as err:
        safe_extract_tar(archive, target)
    msg = str(err.value)
    assert "bad.tar.gz" in msg and expected_text in msg
    assert not target.exists()
    assert not (tmp_path / "box" / "evil").exists() and not (tmp_path / "evil").exists()


def test_truncated_archive_is_a_clear_error(tmp_path):
    noise = random.Random(0).randbytes(50_000)  # incompressible, so truncation bites
    archive = make_tar(tmp_path / "x.tar.gz", [file_member("top/a.bin", noise)])
    archive.write_bytes(archive.read_bytes()[:20_000])
    with pytest.raises(DatasetError, match="x.tar.gz"):
        safe_extract_tar(archive, tmp_path / "out")


def test_archive_larger_than_the_limit_is_refused_before_writing(tmp_path):
    """A decompression bomb shows its size in the headers: refused, nothing written."""
    archive = make_tar(tmp_path / "big.tar.gz", [file_member("a.bin", bytes(3000)), file_member("b.bin", bytes(3000))])
    target = tmp_path / "out"
    with pytest.raises(DatasetError, match=r"big\.tar\.gz.*add up to 0\.00 GiB, more than the limit"):
        safe_extract_tar(archive, target, max_bytes=5000)
    assert not target.exists()
    assert (safe_extract_tar(archive, target, max_bytes=6000) / "a.bin").stat().st_size == 3000


def test_hard_links_count_at_their_files_size(tmp_path):
    """Each hard link is written as a full copy: fifty links to one 1000-byte file unpack to
    51,000 bytes, and must be refused under a 5,000-byte limit."""
    links = [({"name": f"h{i}", "type": tarfile.LNKTYPE, "linkname": "a.bin"}, None) for i in range(50)]
    archive = make_tar(tmp_path / "links.tar.gz", [file_member("a.bin", bytes(1000))] + links)
    with pytest.raises(DatasetError, match=r"links\.tar\.gz.*more than the limit"):
        safe_extract_tar(archive, tmp_path / "out", max_bytes=5000)
    assert not (tmp_path / "out").exists()
    out = safe_extract_tar(archive, tmp_path / "out", max_bytes=51_000)
    assert (out / "h49").read_bytes() == bytes(1000)
    dotted = make_tar(tmp_path / "dotted.tar.gz", [file_member("./top/a.bin", b"abc"),    # as `tar -C . .` writes
                                                    ({"name": "./top/h", "type": tarfile.LNKTYPE,
                                                      "linkname": "top/a.bin"}, None)])
    assert (safe_extract_tar(dotted, tmp_path / "dotted") / "top/h").read_bytes() == b"abc"


def test_archive_larger_than_the_free_space_is_refused(tmp_path, monkeypatch):
    import collections
    import shutil
    archive = make_tar(tmp_path / "a.tar.gz", [file_member("a.bin", bytes(3000))])
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10 ** 6, 10 ** 6 - 100, 100))
    with pytest.raises(DatasetError, match=r"a\.tar\.gz: its files need .* only 0\.00 GiB free"):
        safe_extract_tar(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()
