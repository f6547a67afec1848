"""Commands whose stages are not built yet."""
from inpaint.cli.common import not_implemented

export = not_implemented("inpaint-export")
bench = not_implemented("inpaint-bench")
