# The commands a developer needs. The README's two commands are scripts/demo.sh
# and scripts/test.sh; these are shortcuts around the same venv.
.PHONY: setup demo test lint typecheck
setup:
	bash scripts/setup.sh
demo: setup
	.venv/bin/aaas demo
test:
	bash scripts/test.sh
lint: setup
	.venv/bin/ruff check .
typecheck: setup
	.venv/bin/mypy aaas broker link edge_node orchestrator user_agent monitoring testbed
