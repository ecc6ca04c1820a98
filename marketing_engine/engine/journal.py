"""An append-only intake journal on the local disk: many processes write records, one reader at a
time takes them whole. The webhook endpoint keeps each verified body here before it answers 200.

Why a file and not MariaDB or Redis: Meta does not redeliver a webhook it got a 200 for, so the
body must be durable before the answer. A MariaDB insert and commit per webhook costs the request
about a fifth of a bare Frappe request; the queue Redis is fast but keeps no durable log (the
bench's config has no append-only file), so a Redis killed between accept and apply would lose
what it held. A single ``write`` and ``fdatasync`` to a local file costs tens of microseconds of
CPU and survives the death of any process (a web worker, the applier, Redis, MariaDB) and of the
machine's power. A writer that is not ``durable`` skips the sync: its records survive any process
dying (the kernel holds them) but not a power cut in the kernel's few seconds of write-back.

The protocol, with no coordinator:

- Each writing process appends to a file of its own, ``open-<host>-<pid>-<time>``, one record per
  ``write`` call, under an exclusive ``flock`` and the process's thread lock. Before writing it
  checks that its path still names its open file; when it does not, the reader has taken the file
  and the writer starts a new one.
- The reader takes a file by renaming it to ``taken-...`` and then waiting for its ``flock``:
  a writer that checked the path before the rename finishes its record first, and one that checks
  after finds the path gone. The reader then has every record the file will ever hold.
- A taken file is deleted only after its records are kept elsewhere (the caller's commit). A
  reader that dies before that leaves it ``taken-``, and the next reader reads it again: records
  carry their file's name and offset, so the caller can keep each once.

A record is ``<length>\\n<bytes>\\n``. A write that fails part way (a full disk) is cut off again
before the writer's lock is released, and the request that made it is answered with an error, so
a file never holds half a record that was answered. All of this needs one local file system:
every web worker and the applier must see the same site folder (a single bench, or a shared volume
as in frappe_docker).
"""

import fcntl
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

OPEN_PREFIX = "open-"
TAKEN_PREFIX = "taken-"
BROKEN_PREFIX = "broken-"


@dataclass(frozen=True)
class Record:
	file_id: str  # the writer's file name without its prefix: unique to the file, forever
	offset: int
	data: bytes

	@property
	def key(self) -> str:
		"""Names this record among every record any journal will hold."""
		return f"{self.file_id}:{self.offset}"


def frame(data: bytes) -> bytes:
	return b"%d\n%s\n" % (len(data), data)


def unframe(file_id: str, content: bytes) -> tuple[list[Record], str | None]:
	"""The file's records, and what is wrong with the rest of it (None when nothing is): only a
	file not written by :class:`Writer` holds anything but whole records."""
	records, position = [], 0
	while position < len(content):
		newline = content.find(b"\n", position)
		try:
			length = int(content[position:newline]) if newline > position else -1
		except ValueError:
			length = -1
		end = newline + 1 + length
		if length < 0 or end >= len(content) or content[end : end + 1] != b"\n":
			return records, f"{len(content) - position} bytes at offset {position} are not a whole record"
		records.append(Record(file_id, position, content[newline + 1 : end]))
		position = end + 1
	return records, None


class Writer:
	"""Appends records to this process's file in ``directory``; safe to share between threads."""

	def __init__(self, directory: str, durable: bool = True):
		self.directory = directory
		self.durable = durable
		self._lock = threading.Lock()
		self._fd: int | None = None
		self._path = ""
		self._pid = 0

	def append(self, data: bytes) -> None:
		"""Returns once the record is in the file (and, when durable, on the disk)."""
		record = frame(data)
		with self._lock:
			while True:
				fd = self._file()
				fcntl.flock(fd, fcntl.LOCK_EX)
				try:
					if self._still_mine(fd):
						self._write(fd, record)
						return
				finally:
					fcntl.flock(fd, fcntl.LOCK_UN)
				self._close()  # taken by the reader: the next record starts a new file

	def _file(self) -> int:
		if self._fd is not None and self._pid != os.getpid():
			# A forked child (gunicorn's --preload) must not share its parent's file.
			self._fd = None
		if self._fd is None:
			os.makedirs(self.directory, exist_ok=True)
			name = f"{OPEN_PREFIX}{socket.gethostname()}-{os.getpid()}-{time.time_ns()}"
			self._path = os.path.join(self.directory, name)
			self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
			self._pid = os.getpid()
		return self._fd

	def _still_mine(self, fd: int) -> bool:
		try:
			named, mine = os.stat(self._path), os.fstat(fd)
		except FileNotFoundError:
			return False
		return (named.st_dev, named.st_ino) == (mine.st_dev, mine.st_ino)

	def _write(self, fd: int, record: bytes) -> None:
		size = os.fstat(fd).st_size
		try:
			written = 0
			while written < len(record):
				written += os.write(fd, record[written:])
			if self.durable:
				os.fdatasync(fd)
		except OSError:
			os.ftruncate(fd, size)  # no half record stays behind the one that failed
			raise

	def _close(self) -> None:
		if self._fd is not None:
			os.close(self._fd)
		self._fd = None


@dataclass
class TakenFile:
	path: str
	records: list[Record]
	problem: str | None = None  # bytes that are not a whole record (see ``unframe``)

	def done(self) -> None:
		"""The records are kept elsewhere: the file goes, or, when part of it was not a record,
		stays as ``broken-...`` for someone to look at."""
		try:
			if self.problem:
				name = os.path.basename(self.path)[len(TAKEN_PREFIX) :]
				os.rename(self.path, os.path.join(os.path.dirname(self.path), BROKEN_PREFIX + name))
			else:
				os.unlink(self.path)
		except FileNotFoundError:
			pass


def take(directory: str, limit_files: int | None = None) -> Iterator[TakenFile]:
	"""Every file with records, oldest first: files an earlier reader took but did not finish,
	then files being written now (taken from their writers). The caller keeps each file's
	records and then calls ``done``; one reader at a time (the caller's lock)."""
	for path in pending_files(directory, limit_files, abandoned=True):
		name = os.path.basename(path)
		if name.startswith(OPEN_PREFIX):
			taken = os.path.join(directory, TAKEN_PREFIX + name[len(OPEN_PREFIX) :])
			try:
				os.rename(path, taken)
			except FileNotFoundError:
				continue
			path = taken
		try:
			fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
		except FileNotFoundError:
			continue
		try:
			fcntl.flock(fd, fcntl.LOCK_EX)  # a record being written is finished first
			content = read_all(fd)
		finally:
			os.close(fd)
		file_id = os.path.basename(path)[len(TAKEN_PREFIX) :]
		yield TakenFile(path, *unframe(file_id, content))


def peek(directory: str) -> list[TakenFile]:
	"""What the journal holds now, without taking it (for tests and for looking)."""
	found = []
	for path in pending_files(directory):
		name = os.path.basename(path)
		try:
			with open(path, "rb") as f:
				content = f.read()
		except FileNotFoundError:
			continue
		file_id = name.split("-", 1)[1]
		found.append(TakenFile(path, *unframe(file_id, content)))
	return found


def count_records(directory: str) -> int:
	"""Records the journal holds now, not yet taken away."""
	return sum(len(taken.records) for taken in peek(directory))


def pending_files(directory: str, limit_files: int | None = None, abandoned: bool = False) -> list[str]:
	"""Taken files, then open files with records, oldest first; with ``abandoned``, also the empty
	open files of this host's writers that are no longer running (see :func:`abandoned_file`)."""
	try:
		entries = list(os.scandir(directory))
	except FileNotFoundError:
		return []
	taken, written = [], []
	for entry in entries:
		try:
			if entry.name.startswith(TAKEN_PREFIX):
				taken.append(entry.path)
			elif entry.name.startswith(OPEN_PREFIX) and (
				(stat := entry.stat()).st_size or (abandoned and abandoned_file(entry.name))
			):
				written.append((stat.st_mtime_ns, entry.path))
		except FileNotFoundError:
			continue  # taken or deleted by a reader since the directory was listed
	files = sorted(taken) + [path for _, path in sorted(written)]
	return files[:limit_files] if limit_files else files


def abandoned_file(name: str) -> bool:
	"""An open file of a writer on this host that is no longer running: one killed after making
	its file and before its first record leaves it empty, and nobody else would ever remove it.
	Taking it is safe whatever the answer: a live writer finds its path gone and starts anew."""
	parts = name[len(OPEN_PREFIX) :].rsplit("-", 2)
	if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
		return False
	try:
		os.kill(int(parts[1]), 0)
	except ProcessLookupError:
		return True
	except PermissionError:
		return False  # alive, another user's
	return False


def has_records(directory: str) -> bool:
	return bool(pending_files(directory, 1))


def read_all(fd: int) -> bytes:
	chunks = []
	while chunk := os.read(fd, 1 << 20):
		chunks.append(chunk)
	return b"".join(chunks)
