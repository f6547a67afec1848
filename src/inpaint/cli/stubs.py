"""Commands whose stages are not built yet."""
from inpaint.cli.common import not_implemented

bench = not_implemented("inpaint-bench")
