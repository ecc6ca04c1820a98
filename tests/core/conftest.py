import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from marketing_engine.engine.simulator import GraphAPISimulator, SimNumber, sandbox_templates


class WebhookReceiver:
	"""A real HTTP endpoint that records what the simulator posts to it."""

	def __init__(self, verify_token: str = "verify-me"):
		self.requests: list[tuple[dict, bytes]] = []
		self.verify_token = verify_token
		self.lock = threading.Lock()
		receiver = self

		class Handler(BaseHTTPRequestHandler):
			protocol_version = "HTTP/1.1"

			def log_message(self, *args):
				pass

			def do_GET(self):
				"""Meta's subscription handshake: echo hub.challenge for our verify token."""
				query = parse_qs(urlparse(self.path).query)
				ours = (query.get("hub.verify_token") or [""])[0] == receiver.verify_token
				body = (query.get("hub.challenge") or [""])[0].encode() if ours else b"wrong token"
				self.send_response(200 if ours else 403)
				self.send_header("Content-Length", str(len(body)))
				self.end_headers()
				self.wfile.write(body)

			def do_POST(self):
				raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
				with receiver.lock:
					receiver.requests.append((dict(self.headers), raw))
				self.send_response(200)
				self.send_header("Content-Length", "0")
				self.end_headers()

		self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
		threading.Thread(target=self.server.serve_forever, daemon=True).start()

	@property
	def url(self) -> str:
		return f"http://127.0.0.1:{self.server.server_address[1]}/webhook"

	def payloads(self) -> list[dict]:
		with self.lock:
			return [json.loads(raw) for _, raw in self.requests]


@pytest.fixture
def receiver():
	r = WebhookReceiver()
	yield r
	r.server.shutdown()
	r.server.server_close()


def make_number(**overrides) -> SimNumber:
	values = dict(
		phone_number_id="111",
		waba_id="222",
		access_token="test-token",
		app_secret="test-secret",
		display_phone_number="+91 80000 00009",
	)
	values.update(overrides)
	return SimNumber(**values)


@pytest.fixture
def number():
	return make_number()


@pytest.fixture
def simulator(number, receiver):
	number.webhook_url = receiver.url
	with GraphAPISimulator([number], {number.waba_id: sandbox_templates()}, status_delay=0.01) as sim:
		yield sim


@pytest.fixture(scope="session")
def redis_server():
	"""A real Redis server on a free port for the session (Debian's redis-server)."""
	import shutil
	import socket
	import subprocess
	import time

	import redis

	binary = shutil.which("redis-server")
	if not binary:
		pytest.fail("redis-server is not installed (apt-get install redis-server); .ci/run installs it")
	with socket.socket() as s:
		s.bind(("127.0.0.1", 0))
		port = s.getsockname()[1]
	process = subprocess.Popen(
		[binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
		stdout=subprocess.DEVNULL,
	)
	client = redis.Redis(port=port)
	for _ in range(100):
		try:
			client.ping()
			break
		except redis.ConnectionError:
			time.sleep(0.05)
	yield client
	process.terminate()
	process.wait(timeout=10)
