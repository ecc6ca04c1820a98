"""The intake journal with real processes: writers in several processes and threads while a
reader takes their files, writers killed with SIGKILL mid-stream, a reader that dies before it is
done, a failed write, and a file that holds something else. Every record whose ``append``
returned is read exactly once by the readers that finish, and nothing else is."""

import multiprocessing
import os
import signal
import socket
import threading
import time

import pytest

from marketing_engine.engine import journal


def write_numbers(directory: str, start: int, count: int, threads: int, acknowledged) -> None:
	"""A web worker: ``threads`` threads append numbered records; each one whose append returned
	is acknowledged (the 200 Meta would get) through the pipe."""
	writer = journal.Writer(directory)
	lock = threading.Lock()

	def work(offset: int) -> None:
		for n in range(start + offset, start + count, threads):
			writer.append(b"record %d " % n + b"x" * (n % 700))
			with lock:
				acknowledged.send(n)

	workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
	for thread in workers:
		thread.start()
	for thread in workers:
		thread.join()


def look_while_taken(directory: str, times: int) -> None:
	for _ in range(times):
		journal.has_records(directory)
		journal.peek(directory)


def read_all_records(directory: str) -> list[int]:
	numbers = []
	for taken in journal.take(directory):
		assert taken.problem is None
		numbers.extend(int(r.data.split()[1]) for r in taken.records)
		taken.done()
	return numbers


def test_every_acknowledged_record_is_read_once_while_writers_run_and_die(tmp_path):
	directory = str(tmp_path)
	context = multiprocessing.get_context("fork")
	receive, send = context.Pipe(duplex=False)
	writers = [
		context.Process(target=write_numbers, args=(directory, i * 100_000, 4000, 4, send)) for i in range(3)
	]
	for process in writers:
		process.start()
	read: list[int] = []
	acknowledged: set[int] = set()
	killed = False
	deadline = time.monotonic() + 60
	looker = context.Process(target=look_while_taken, args=(directory, 3000))
	looker.start()  # the scheduler's "anything waiting?" while files are taken under it
	while any(p.is_alive() for p in writers) and time.monotonic() < deadline:
		read.extend(read_all_records(directory))
		while receive.poll():
			acknowledged.add(receive.recv())
		if not killed and len(acknowledged) > 3000:
			os.kill(writers[1].pid, signal.SIGKILL)  # mid-record, maybe: no clean-up runs
			killed = True
	for process in writers:
		process.join()
	looker.join()
	assert looker.exitcode == 0, "listing the journal failed while files were taken"
	while receive.poll():
		acknowledged.add(receive.recv())
	read.extend(read_all_records(directory))  # what the dead and finished writers left

	assert killed and writers[1].exitcode == -signal.SIGKILL
	assert len(read) == len(set(read)), "a record was read twice"
	assert acknowledged <= set(read), f"{len(acknowledged - set(read))} acknowledged records lost"
	# The killed writer stopped early; the others wrote everything.
	assert {n for n in read if n < 100_000} == set(range(4000))
	assert os.listdir(directory) == []


def test_a_reader_that_dies_before_done_leaves_the_file_for_the_next(tmp_path):
	directory = str(tmp_path)
	writer = journal.Writer(directory)
	for n in range(5):
		writer.append(b"record %d" % n)
	first = next(journal.take(directory))  # taken, then the reader "dies": no done()
	assert [r.data for r in first.records] == [b"record %d" % n for n in range(5)]
	writer.append(b"record 5")  # the writer sees its file taken and starts another
	again = list(journal.take(directory))
	assert [len(t.records) for t in again] == [5, 1]  # the unfinished file first, then the new one
	assert [r.key for r in again[0].records] == [r.key for r in first.records]  # same keys: kept once
	for taken in again:
		taken.done()
	assert not journal.has_records(directory)


def test_a_failed_write_leaves_no_half_record(tmp_path, monkeypatch):
	directory = str(tmp_path)
	writer = journal.Writer(directory)
	writer.append(b"kept")
	real_write = os.write

	def disk_full_after_a_few_bytes(fd, data):
		real_write(fd, data[:3])
		raise OSError(28, "No space left on device")

	monkeypatch.setattr(journal.os, "write", disk_full_after_a_few_bytes)
	with pytest.raises(OSError):
		writer.append(b"lost: the request that wrote it is answered 500, and Meta sends it again")
	monkeypatch.setattr(journal.os, "write", real_write)
	writer.append(b"after")
	(taken,) = journal.take(directory)
	assert taken.problem is None
	assert [r.data for r in taken.records] == [b"kept", b"after"]


def test_a_file_that_is_not_whole_records_keeps_what_it_can_and_is_kept_aside(tmp_path):
	directory = str(tmp_path)
	writer = journal.Writer(directory)
	writer.append(b"good")
	with open(os.path.join(directory, "open-elsewhere-1-1"), "wb") as f:
		f.write(journal.frame(b"first") + b"12\nshort")
	taken = {t.path: t for t in journal.take(directory)}
	broken = next(t for t in taken.values() if "elsewhere" in t.path)
	assert [r.data for r in broken.records] == [b"first"]
	assert "not a whole record" in broken.problem
	for t in taken.values():
		t.done()
	assert os.listdir(directory) == ["broken-elsewhere-1-1"]


def test_a_forked_child_writes_its_own_file(tmp_path):
	directory = str(tmp_path)
	writer = journal.Writer(directory)
	writer.append(b"parent")  # gunicorn's --preload: the master opened a file before forking
	pid = os.fork()
	if pid == 0:
		writer.append(b"child")
		os._exit(0)
	os.waitpid(pid, 0)
	files = sorted(os.listdir(directory))
	assert len(files) == 2 and all(f.startswith("open-") for f in files)
	assert sorted(r.data for t in journal.take(directory) for r in t.records) == [b"child", b"parent"]


def test_a_writer_that_is_not_durable_never_syncs(tmp_path, monkeypatch):
	def no_sync(fd):
		raise AssertionError("synced")

	monkeypatch.setattr(journal.os, "fdatasync", no_sync)
	writer = journal.Writer(str(tmp_path), durable=False)
	writer.append(b"click")
	with pytest.raises(AssertionError, match="synced"):
		journal.Writer(str(tmp_path)).append(b"webhook")  # a durable one does
	assert sorted(r.data for t in journal.take(str(tmp_path)) for r in t.records) == [b"click", b"webhook"]


def test_an_empty_file_of_a_writer_that_died_is_taken_and_removed(tmp_path):
	"""A writer killed after making its file and before its first record leaves it empty: the
	next take removes it; a live writer's empty file is left to its writer."""
	gone = multiprocessing.Process(target=int)
	gone.start()
	gone.join()
	host = socket.gethostname()
	dead = tmp_path / f"{journal.OPEN_PREFIX}{host}-{gone.pid}-1"
	live = tmp_path / f"{journal.OPEN_PREFIX}{host}-{os.getpid()}-2"
	dead.touch()
	live.touch()
	assert not journal.has_records(str(tmp_path)), "nothing to read in either"
	taken = list(journal.take(str(tmp_path)))
	assert [t.records for t in taken] == [[]] and taken[0].problem is None
	taken[0].done()
	assert sorted(p.name for p in tmp_path.iterdir()) == [live.name]
