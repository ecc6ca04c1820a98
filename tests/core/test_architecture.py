"""The app's layout is its architecture: each concern is one package, lower layers never import
higher ones, and nothing imports in a circle. These tests read every module of the app (imports
inside functions included, ``if TYPE_CHECKING:`` blocks left out, since they never run) and fail
when a change breaks that, naming the import.

Layers, lowest first (README, "Architecture"):

0. ``engine``: the framework-free core;
1. ``background``, ``desk``: what every job shares, the workspace's checklist;
2. ``channel``: accounts, templates, messages, the send path, consent, webhooks;
3. ``roi``: tracked links, clicks, attribution, figures;
4. ``campaigns``: segments, audiences, snapshot and dispatch;
5. ``drips``: enrolment, steps, handover;
6. entry points: ``api``, ``hooks``, ``install``, ``commands``, ``sandbox``, ``patches``,
   ``benchmarks``, ``tests``.

A DocType's controller belongs to the layer of its concern; a new DocType must be placed here.
"""

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "marketing_engine"
ROOT = "marketing_engine"
ENTRY = 6
PACKAGE_LAYERS = {
	"engine": 0,
	"background": 1,
	"desk": 1,
	"channel": 2,
	"roi": 3,
	"campaigns": 4,
	"drips": 5,
}
DOCTYPE_LAYERS = {
	**dict.fromkeys(
		(
			"marketing_settings",
			"whatsapp_account",
			"whatsapp_template",
			"whatsapp_template_button",
			"whatsapp_template_variable",
			"whatsapp_message",
			"whatsapp_consent",
			"whatsapp_consent_log",
			"whatsapp_webhook_event",
			"whatsapp_rate_card",
			"whatsapp_rate_card_rate",
		),
		2,
	),
	**dict.fromkeys(("whatsapp_link", "whatsapp_link_click", "attribution"), 3),
	**dict.fromkeys(
		("segment", "segment_member", "segment_rule", "whatsapp_campaign", "whatsapp_campaign_segment"), 4
	),
	**dict.fromkeys(("drip_sequence", "drip_step", "drip_step_variable", "drip_enrollment"), 5),
}
# The Frappe module folder's other documents, by the concern they show.
MODULE_FOLDER_LAYERS = {"report": 3, "dashboard_chart_source": 3, "web_form": 3, "page": ENTRY}
TOP_LEVEL_ALLOWED_BESIDES = {"__init__", "hooks", "install", "commands"}
MAX_TOP_LEVEL_MODULES = 6
MAX_UPWARD_IMPORTS = 0  # the issue allows 4; the layout has none, and a new one should be a decision


def module_name(path: Path) -> str:
	parts = list(path.relative_to(APP.parent).with_suffix("").parts)
	if parts[-1] == "__init__":
		parts.pop()
	return ".".join(parts)


def app_modules() -> dict[str, Path]:
	return {
		module_name(path): path
		for path in APP.rglob("*.py")
		if "__pycache__" not in path.parts and "node_modules" not in path.parts
	}


def is_type_checking(test: ast.expr) -> bool:
	return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
		isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
	)


def imported_names(tree: ast.AST, this: str, is_package: bool) -> list[tuple[str, list[str]]]:
	"""(module, names) for every import that runs, at any depth."""
	found = []

	def visit(node):
		if isinstance(node, ast.If) and is_type_checking(node.test):
			for child in node.orelse:
				visit(child)
			return
		if isinstance(node, ast.Import):
			found.extend((alias.name, []) for alias in node.names)
		elif isinstance(node, ast.ImportFrom):
			base = node.module or ""
			if node.level:
				package = this.split(".")
				package = package if is_package else package[:-1]
				package = package[: len(package) - (node.level - 1)]
				base = ".".join(package + ([base] if base else []))
			found.append((base, [alias.name for alias in node.names]))
		for child in ast.iter_child_nodes(node):
			visit(child)

	visit(tree)
	return found


def import_graph() -> dict[str, set[str]]:
	modules = app_modules()
	graph: dict[str, set[str]] = {name: set() for name in modules}
	for name, path in modules.items():
		tree = ast.parse(path.read_text(), str(path))
		for base, names in imported_names(tree, name, path.name == "__init__.py"):
			if base != ROOT and not base.startswith(ROOT + "."):
				continue
			# ``from package import module`` imports the module; ``from module import name`` the module.
			targets = [f"{base}.{n}" for n in names if f"{base}.{n}" in modules] or [base]
			for target in targets:
				while target not in modules and "." in target:
					target = target.rsplit(".", 1)[0]
				if target in modules and target != name and target != ROOT:
					graph[name].add(target)
	return graph


def layer_of(module: str) -> int:
	parts = module.split(".")[1:]
	if not parts:
		return ENTRY
	if parts[0] == ROOT:  # the Frappe module folder: marketing_engine.marketing_engine....
		if len(parts) >= 3 and parts[1] == "doctype":
			assert parts[2] in DOCTYPE_LAYERS, (
				f"DocType folder {parts[2]} has no layer: add it to DOCTYPE_LAYERS in {__file__}"
			)
			return DOCTYPE_LAYERS[parts[2]]
		if len(parts) >= 2 and parts[1] in MODULE_FOLDER_LAYERS:
			return MODULE_FOLDER_LAYERS[parts[1]]
		return ENTRY
	return PACKAGE_LAYERS.get(parts[0], ENTRY)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
	"""Strongly connected components of more than one module (Tarjan)."""
	index: dict[str, int] = {}
	low: dict[str, int] = {}
	stack: list[str] = []
	on_stack: set[str] = set()
	found: list[list[str]] = []

	def connect(node: str) -> None:
		index[node] = low[node] = len(index)
		stack.append(node)
		on_stack.add(node)
		for target in graph[node]:
			if target not in index:
				connect(target)
				low[node] = min(low[node], low[target])
			elif target in on_stack:
				low[node] = min(low[node], index[target])
		if low[node] == index[node]:
			component = []
			while True:
				member = stack.pop()
				on_stack.discard(member)
				component.append(member)
				if member == node:
					break
			if len(component) > 1:
				found.append(sorted(component))

	for node in sorted(graph):
		if node not in index:
			connect(node)
	return found


def test_the_checker_sees_function_level_imports_and_skips_type_checking_blocks():
	source = (
		"from typing import TYPE_CHECKING\n"
		"from marketing_engine.channel import sending\n"
		"if TYPE_CHECKING:\n"
		"    from marketing_engine.drips import steps\n"
		"def later():\n"
		"    from marketing_engine.roi.links import follow\n"
	)
	found = imported_names(ast.parse(source), "marketing_engine.channel.messaging", False)
	assert ("marketing_engine.channel", ["sending"]) in found
	assert ("marketing_engine.roi.links", ["follow"]) in found
	assert not any(base.startswith("marketing_engine.drips") for base, _ in found)


def test_the_checker_finds_a_circle():
	assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
	assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles():
	assert cycles(import_graph()) == []


def test_lower_layers_never_import_higher_ones():
	graph = import_graph()
	upward = sorted(
		f"{source} (layer {layer_of(source)}) imports {target} (layer {layer_of(target)})"
		for source, targets in graph.items()
		for target in targets
		if layer_of(target) > layer_of(source)
	)
	assert len(upward) <= MAX_UPWARD_IMPORTS, "\n".join(upward)


def test_the_channel_knows_nothing_of_campaigns_drips_or_roi():
	graph = import_graph()
	reached = {
		target
		for source, targets in graph.items()
		if source.startswith(f"{ROOT}.channel")
		for target in targets
	}
	assert not {t for t in reached if t.split(".")[1] in ("campaigns", "drips", "roi")}


def test_the_top_level_is_small_and_every_package_says_what_it_owns():
	top_level = sorted(path.stem for path in APP.glob("*.py") if path.stem not in TOP_LEVEL_ALLOWED_BESIDES)
	assert len(top_level) <= MAX_TOP_LEVEL_MODULES, top_level
	for package in ("channel", "campaigns", "drips", "roi"):
		docstring = ast.get_docstring(ast.parse((APP / package / "__init__.py").read_text()))
		assert docstring and "Owns" in docstring and "May import" in docstring, package


def test_every_dotted_path_the_app_stores_or_calls_names_a_function_that_exists():
	"""JS calls, hooks, JSON (Number Cards, workspaces) and enqueued jobs name functions by dotted
	path; a path left behind by a move fails only when Desk calls it, so it is checked here."""
	import re

	dotted = re.compile(r"[\"']marketing_engine((?:\.[a-z_][a-z0-9_]*)+)[\"']")
	wrong = []
	for path in APP.rglob("*"):
		if path.suffix not in (".js", ".json", ".py", ".html") or "node_modules" in path.parts:
			continue
		for match in dotted.finditer(path.read_text(errors="ignore")):
			parts = match.group(1).strip(".").split(".")
			if resolves(parts) is False:
				wrong.append(f"{path.relative_to(APP.parent)}: marketing_engine.{'.'.join(parts)}")
	assert not wrong, "\n".join(wrong)


def resolves(parts: list[str]) -> bool | None:
	"""True when ``parts`` (after ``marketing_engine``) is a module, or a module and a name it
	defines; False when neither; None when it is not a path into the app's code at all."""
	for cut in range(len(parts), 0, -1):
		base = APP.joinpath(*parts[:cut])
		module = base.with_suffix(".py") if not base.is_dir() else base / "__init__.py"
		if not module.exists():
			continue
		rest = parts[cut:]
		if not rest:
			return True
		if len(rest) > 1:
			return False
		tree = ast.parse(module.read_text())
		names = {
			n.name
			for n in ast.walk(tree)
			if isinstance(n, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
		} | {
			t.id
			for n in ast.walk(tree)
			if isinstance(n, ast.Assign)
			for t in n.targets
			if isinstance(t, ast.Name)
		}
		# Names a module imports are its attributes too (tests patch them where they are used).
		names |= {
			a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names
		}
		return rest[0] in names
	return False if len(parts) > 1 else None
