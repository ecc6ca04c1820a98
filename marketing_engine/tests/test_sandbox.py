from frappe.tests.utils import FrappeTestCase

from marketing_engine.engine.simulator import SANDBOX_PORT
from marketing_engine.sandbox import next_steps


def started(port: int, web_url: str) -> dict:
	return {
		"simulator": f"http://127.0.0.1:{port}",
		"port": port,
		"web_url": web_url,
		"reused": False,
		"accounts": {"Sandbox System": {"health": "AVAILABLE", "templates": 6}},
	}


class TestSandboxNextSteps(FrappeTestCase):
	def test_next_steps_name_the_web_url_and_port_the_command_was_given(self):
		said = next_steps(started(51827, "http://127.0.0.1:41635"), "walk.localhost")
		self.assertIn("Open http://127.0.0.1:41635/app/marketing (site walk.localhost)", said)
		self.assertIn("bench --site walk.localhost marketing-engine sandbox --stop --port 51827", said)
		self.assertIn("POST http://127.0.0.1:51827/_simulator/inbound", said)

	def test_the_default_port_needs_no_mention_when_stopping(self):
		said = next_steps(started(SANDBOX_PORT, "http://127.0.0.1:8000"), "studio.localhost")
		self.assertTrue(said.rstrip().endswith("marketing-engine sandbox --stop"), said)
