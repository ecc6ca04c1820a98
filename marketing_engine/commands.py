"""Bench commands of the app: ``bench --site <site> marketing-engine sandbox [--demo] [--stop]``."""

import click
import frappe
from frappe.commands import get_site, pass_context


@click.group("marketing-engine")
def marketing_engine():
	"""WhatsApp marketing for ERPNext."""


@marketing_engine.command("sandbox")
@click.option("--demo", is_flag=True, help="Also load a small studio: customers, bookings, a project.")
# engine.simulator.SANDBOX_PORT, written out: importing it would load the simulator on every bench command.
@click.option("--port", default=8790, show_default=True, help="The Graph API simulator's port.")
@click.option(
	"--web-url", help="How the simulator reaches this site (default http://127.0.0.1:<webserver_port>)."
)
@click.option("--stop", is_flag=True, help="Stop the simulator this command started.")
@pass_context
def sandbox(context, demo: bool, port: int, web_url: str | None, stop: bool):
	"""Try everything without a WABA: the simulator, sandbox accounts, templates (and a demo)."""
	from marketing_engine import sandbox as sandbox_module

	site = get_site(context)
	frappe.init(site=site)
	frappe.connect()
	try:
		if stop:
			stopped = sandbox_module.stop(port)
			click.echo(
				"Simulator stopped." if stopped else "No simulator started by this command is running."
			)
			return
		result = sandbox_module.start(port=port, demo=demo, web_url=web_url)
		click.echo(sandbox_module.next_steps(result, site))
	finally:
		frappe.destroy()


commands = [marketing_engine]
