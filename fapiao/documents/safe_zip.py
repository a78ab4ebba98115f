"""ZIP archives from strangers (OFD files, uploaded bundles): refuse path tricks and ZIP bombs.

Member names must be relative paths without `..`, drive letters or backslashes. Sizes are bounded
twice: by what the directory declares (cheap, up front) and by what is actually inflated (a forged
directory can lie), so no archive makes us write or hold more than the limits.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from fapiao.documents.exceptions import DocumentError

_DRIVE = re.compile(r"^[A-Za-z]:")
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class ZipLimits:
    max_members: int = 10_000
    max_member_bytes: int = 50 * 1024 * 1024
    max_total_bytes: int = 1024 * 1024 * 1024
    max_ratio: int = 200  # inflated / compressed, per member (ordinary documents stay far below)


def safe_member_name(name: str) -> bool:
    if not name or name.startswith(("/", "\\")) or "\\" in name or _DRIVE.match(name) or "\x00" in name:
        return False
    return ".." not in name.split("/")


class SafeZip:
    """A ZIP archive whose members have been vetted; `read(name)` inflates with a hard cap."""

    def __init__(self, source: IO[bytes], limits: ZipLimits = ZipLimits()) -> None:
        try:
            self._zip = zipfile.ZipFile(source)
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
            raise DocumentError("zip_damaged") from None
        self.limits = limits
        if len(infos) > limits.max_members:
            raise DocumentError("zip_too_large")
        total = 0
        for info in infos:
            if not safe_member_name(info.filename):
                raise DocumentError("zip_unsafe_path")
            if info.flag_bits & 0x1:
                raise DocumentError("zip_encrypted")
            total += info.file_size
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > limits.max_member_bytes or total > limits.max_total_bytes:
                raise DocumentError("zip_too_large")
            if info.file_size > 1024 * 1024 and ratio > limits.max_ratio:
                raise DocumentError("zip_too_large")
        self._infos = {i.filename: i for i in infos}
        # references inside real packages do not always match the member names' case (`TPLS/Tpl_0` for
        # `Tpls/Tpl_0`, written on Windows, where names are case-insensitive): looked up both ways
        self._folded: dict[str, str] = {}
        for name in self._infos:
            self._folded.setdefault(name.casefold(), name)
        self._order = [i.filename for i in infos]
        self._inflated = 0

    def __enter__(self) -> SafeZip:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()

    def files(self) -> Iterator[str]:
        """Member file names in archive order (folders left out)."""
        return (n for n in self._order if not n.endswith("/"))

    def has(self, name: str) -> bool:
        return self._member(name) is not None

    def _member(self, name: str) -> zipfile.ZipInfo | None:
        info = self._infos.get(name)
        if info is None and (folded := self._folded.get(name.casefold())):
            info = self._infos[folded]
        return info

    def read(self, name: str) -> bytes:
        """The member's bytes; DocumentError if missing, damaged or bigger than the limits allow."""
        info = self._member(name)
        if info is None:
            raise DocumentError("ofd_damaged")
        cap = min(self.limits.max_member_bytes, self.limits.max_total_bytes - self._inflated)
        parts: list[bytes] = []
        size = 0
        try:
            with self._zip.open(info) as member:
                while chunk := member.read(_CHUNK):
                    size += len(chunk)
                    if size > cap:
                        raise DocumentError("zip_too_large")
                    parts.append(chunk)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
            raise DocumentError("zip_damaged") from None
        self._inflated += size
        return b"".join(parts)


def resolve(base_dir: str, reference: str) -> str:
    """A path referenced inside an archive (e.g. OFD's `Doc_0/Document.xml`), resolved and vetted."""
    reference = reference.strip()
    joined = reference.lstrip("/") if reference.startswith("/") else posixpath.join(base_dir, reference)
    path = posixpath.normpath(joined)
    if not safe_member_name(path) or path == ".":
        raise DocumentError("zip_unsafe_path")
    return path
