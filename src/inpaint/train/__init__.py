"""Training half of the toolkit (needs torch: pip install 'inpaint[train]')."""
