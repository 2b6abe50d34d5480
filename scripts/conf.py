"""The one reader of the workbench's data files (configs/*.conf,
configs/three-level-packages.txt, build/three-level/packages-used.txt): one
record a line, "KIND WORD..."; blank lines and lines whose first non-blank
character is "#" are comments ("#" elsewhere is data: a regular expression
may hold one). Each file's loader gives its kinds a meaning; an error names
the file and the line.
"""


class ConfError(ValueError):
    pass


class Record:
    def __init__(self, where, words, text):
        self.where = where      # "FILE:LINE", for errors
        self.kind = words[0]
        self.args = words[1:]
        self.rest = text.split(None, 1)[1] if len(words) > 1 else ""

    def error(self, why):
        return ConfError(f"{self.where}: {why}: {self.kind} {self.rest}")


def records(path, missing_ok=False):
    """The records of PATH, in order (none if it is missing and MISSING_OK)."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        if missing_ok:
            return []
        raise
    out = []
    for n, raw in enumerate(lines, 1):
        text = raw.strip()
        if text and not text.startswith("#"):
            out.append(Record(f"{path}:{n}", text.split(), text))
    return out
