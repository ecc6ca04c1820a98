"""The studio's booking form (``/book``): creates a Lead that carries the campaign it came from
(see marketing_engine.roi.attribution.lead_from_link)."""


def get_context(context):
	context.no_cache = 1  # the form reads the visitor's own link and cookie
