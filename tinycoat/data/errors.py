"""The one exception the data package raises for problems with data on disk or on the wire."""


class DatasetError(RuntimeError):
    """A dataset could not be found, downloaded, verified, extracted or parsed.

    The message always names the file (or URL) at fault and says what was
    expected, so that the reader can fix the problem without a debugger.
    Programming mistakes (a negative batch size, a wrong dtype) stay
    ``ValueError``/``TypeError``; this class is for *data* problems.
    """
