"""Checks of a student's solution-cell source, run by the grader outside the kernel.

``scan_source(source, from_scratch=...)`` parses the cell (never runs it) and returns one plain-words
reason per thing a solution cell may not use; an empty list means nothing was found. A cell with
findings earns nothing for its tests (the grading command decides and shows the reasons in the feedback).

What is reported:

- the reference: any import or attribute path reaching a module of the list of reference modules
  (:mod:`.reference_modules`, what the grading build strips: ``rnn_helpers.simple_rnn``, ``.gru``, ...),
  through aliases (``import rnn_helpers as r; r.simple_rnn``), ``from rnn_helpers import gru``, or by string
  (``"rnn_helpers.lstm"`` in a call);
- dynamic code and imports: ``importlib``, ``__import__``, ``exec``, ``eval``, ``compile``,
  ``getattr``/``setattr`` with a name that is not a plain string literal, ``globals()``/``vars()`` writes;
- in from-scratch cells, torch's recurrent implementations: ``nn.RNN``/``GRU``/``LSTM`` and their
  ``*Cell``s, ``torch._VF``, ``torch.rnn_tanh``/``rnn_relu``/``gru``/``lstm`` and their cells,
  ``torch.ops.aten`` (``torch.nn.functional`` has no RNN, but ``_VF`` is what nn.RNN calls);
- tampering with the grading: IPython hooks (``get_ipython``, input/AST transformers, custom exception
  handlers, traceback display, magics, event callbacks), ``sys.excepthook``/``displayhook``,
  rebinding, patching or closing ``sys.stdout``/``sys.stderr`` (writing to them, e.g.
  ``print(..., file=sys.stderr)``, is honest and not reported),
  ``sys.modules``, ``sys.path``/``meta_path``/``path_hooks``, ``sys.settrace``/``setprofile``,
  ``builtins``/``__builtins__``, assigning to attributes of numpy/torch/rnn_helpers/records
  (``np.allclose = ...``), ``signal``, ``atexit``, ``gc`` callbacks;
- processes and the machine: ``os.fork``/``system``/``exec*``/``spawn*``/``kill``/``_exit``,
  ``subprocess``, ``multiprocessing``, ``threading``, ``ctypes``/``cffi``, ``socket``, ``pty``,
  ``resource``, ``shutil``, ``pickle``-loading, ``sys.exit``/``exit``/``quit``;
- files: ``open(...)`` of an absolute path, a path with ``..``, a computed path or a write mode;
  ``os``/``pathlib`` calls that touch the file system.

A syntax error is a reason too (``"does not parse: ..."``), never an exception. The scan is a
best effort against a determined student (a static scan cannot decide every program); what decides
points is the record comparison in the grader's process and the sandbox, not this scan alone.
"""
from __future__ import annotations

import ast
import re

from .reference_modules import reference_module_of

TORCH_RECURRENT = {
    "RNN", "GRU", "LSTM", "RNNCell", "GRUCell", "LSTMCell", "RNNBase", "RNNCellBase",
    "_VF", "rnn_tanh", "rnn_relu", "rnn_tanh_cell", "rnn_relu_cell", "gru_cell", "lstm_cell",
    "_thnn_fused_lstm_cell", "_thnn_fused_gru_cell", "quantized_lstm", "quantized_gru",
}
TORCH_RECURRENT_FUNCS = {"gru", "lstm"}  # torch.gru / torch.lstm (not nn.GRU): only as torch.<name>

FORBIDDEN_MODULES = {
    "importlib": "imports modules dynamically (importlib)",
    "subprocess": "starts processes (subprocess)",
    "multiprocessing": "starts processes (multiprocessing)",
    "concurrent": "starts processes or threads (concurrent.futures)",
    "threading": "starts threads (threading)",
    "_thread": "starts threads (_thread)",
    "ctypes": "calls native code (ctypes)",
    "cffi": "calls native code (cffi)",
    "socket": "opens network sockets (socket)",
    "pty": "opens terminals (pty)",
    "signal": "handles signals (signal)",
    "atexit": "registers exit hooks (atexit)",
    "resource": "changes resource limits (resource)",
    "shutil": "copies or deletes files (shutil)",
    "builtins": "patches builtins",
    "__builtin__": "patches builtins",
    "gc": "hooks the garbage collector (gc)",
    "inspect": "inspects the running program's frames (inspect)",
    "pickle": "loads pickled objects (pickle)",
    "marshal": "loads code objects (marshal)",
    "code": "runs an interactive interpreter (code)",
    "runpy": "runs other modules (runpy)",
    "IPython": "reaches into IPython",
    "ipykernel": "reaches into the kernel",
    "nbformat": "reads notebooks",
    "nbgrader": "reaches into nbgrader",
    "glob": "lists files (glob)",
    "tempfile": "creates files (tempfile)",
    "sqlite3": "opens databases (sqlite3)",
    "urllib": "uses the network (urllib)",
    "http": "uses the network (http)",
    "requests": "uses the network (requests)",
}

DYNAMIC_NAMES = {  # reported wherever the name is used (``e = eval`` as much as ``eval(...)``)
    "__import__": "imports modules dynamically (__import__)",
    "exec": "runs code built at run time (exec)",
    "eval": "runs code built at run time (eval)",
    "compile": "compiles code at run time (compile)",
    "breakpoint": "starts the debugger (breakpoint)",
}
CALLS = {  # reported only when called (``input`` is also a fine parameter name)
    "exit": "exits the kernel (exit)",
    "quit": "exits the kernel (quit)",
    "input": "waits for keyboard input (input)",
}
NAME_HOOKS = {"get_ipython", "__builtins__", "InteractiveTB", "__loader__", "__spec__"}
HISTORY_NAMES = re.compile(r"^(In|Out|_ih|_oh|_dh|_i+|_i\d+|_\d+|__+)$")  # IPython's input/output history

IPYTHON_HOOKS = {
    "get_ipython": "reaches into IPython (get_ipython)",
    "input_transformers_cleanup": "installs an IPython input transformer",
    "input_transformers_post": "installs an IPython input transformer",
    "input_transformers": "installs an IPython input transformer",
    "input_transformer_manager": "installs an IPython input transformer",
    "ast_transformers": "installs an IPython AST transformer",
    "set_custom_exc": "installs an IPython custom exception handler",
    "showtraceback": "replaces IPython's traceback display",
    "showsyntaxerror": "replaces IPython's traceback display",
    "_showtraceback": "replaces IPython's traceback display",
    "InteractiveTB": "replaces IPython's traceback display",
    "register_magic_function": "registers an IPython magic",
    "register_magics": "registers an IPython magic",
    "run_cell_magic": "runs an IPython magic",
    "run_line_magic": "runs an IPython magic",
    "events": "registers an IPython event callback",
    "display_pub": "replaces IPython's display publisher",
    "displayhook": "replaces the display hook",
    "excepthook": "replaces sys.excepthook",
    "user_ns": "rewrites the kernel's namespace",
    "user_global_ns": "rewrites the kernel's namespace",
    "kernel": "reaches into the kernel",
    "history_manager": "reads IPython's input/output history (the source of other cells)",
    "__builtins__": "patches builtins",
    "__loader__": "reaches into the import system",
    "__spec__": "reaches into the import system",
    "__globals__": "reaches into a function's globals",
    "__code__": "rewrites a function's code",
    "__subclasses__": "walks the class hierarchy (__subclasses__)",
    "f_globals": "reaches into the running program's frames",
    "f_locals": "reaches into the running program's frames",
    "f_back": "reaches into the running program's frames",
    "tb_frame": "reaches into the running program's frames",
    "gi_frame": "reaches into the running program's frames",
}

SYS_FORBIDDEN = {
    "modules": "touches sys.modules", "path": "changes the import path (sys.path)",
    "meta_path": "changes the import system (sys.meta_path)", "path_hooks": "changes the import system (sys.path_hooks)",
    "path_importer_cache": "changes the import system", "settrace": "installs a trace hook (sys.settrace)",
    "setprofile": "installs a profile hook (sys.setprofile)", "excepthook": "replaces sys.excepthook",
    "displayhook": "replaces sys.displayhook", "exit": "exits the kernel (sys.exit)",
    "_getframe": "reaches into the running program's frames", "addaudithook": "installs an audit hook",
    "setrecursionlimit": None, "unraisablehook": "replaces sys.unraisablehook",
    "breakpointhook": "replaces sys.breakpointhook", "settrace_all_threads": "installs a trace hook",
    "monitoring": "installs a monitoring hook (sys.monitoring)",
}

# The standard streams: reading them is honest (a debug print to stderr), only changing them is reported.
SYS_STREAMS = {"stdout": "redirects output (sys.stdout)", "stderr": "redirects output (sys.stderr)",
               "__stdout__": "redirects output (sys.stdout)", "__stderr__": "redirects output (sys.stderr)",
               "stdin": "redirects input (sys.stdin)", "__stdin__": "redirects input (sys.stdin)"}
STREAM_MUTATORS = {"close", "detach", "reconfigure", "__setattr__", "__dict__"}

OS_FORBIDDEN = {
    "fork": "starts processes (os.fork)", "forkpty": "starts processes (os.fork)", "system": "runs shell commands (os.system)",
    "popen": "runs shell commands (os.popen)", "kill": "sends signals (os.kill)", "killpg": "sends signals (os.killpg)",
    "_exit": "exits the kernel (os._exit)", "abort": "exits the kernel (os.abort)", "setsid": "starts processes (os.setsid)",
    "remove": "deletes files", "unlink": "deletes files", "rmdir": "deletes files", "removedirs": "deletes files",
    "rename": "moves files", "replace": "moves files", "chmod": "changes file permissions", "chown": "changes file owners",
    "symlink": "creates links", "link": "creates links", "listdir": "lists files", "scandir": "lists files", "walk": "lists files",
    "chdir": "changes directory", "environ": "reads or changes the environment", "putenv": "changes the environment",
    "open": "opens files (os.open)", "write": "writes to file descriptors", "dup2": "redirects file descriptors",
    "register_at_fork": "hooks process creation", "setuid": "changes user", "setgid": "changes user",
    "mkfifo": "creates files", "truncate": "changes files", "makedirs": "creates directories", "mkdir": "creates directories",
}
OS_PREFIXES = {"exec": "starts programs (os.exec*)", "spawn": "starts processes (os.spawn*)", "posix_spawn": "starts processes"}

GUARDED_MODULES = {"numpy", "torch", "rnn_helpers", "math", "builtins", "IPython", "sys", "os", "unittest", "pytest",
                   "nose", "scipy", "operator", "functools"}

_PLAIN_FILE = re.compile(r"^[\w][\w.\-]*(/[\w][\w.\-]*)*$")


def _dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


class _Scanner(ast.NodeVisitor):
    def __init__(self, from_scratch: bool):
        self.from_scratch = from_scratch
        self.reasons: list[str] = []
        self.aliases: dict[str, str] = {}  # local name -> dotted module path it stands for

    def add(self, reason: str | None) -> None:
        if reason and reason not in self.reasons:
            self.reasons.append(reason)

    # ---- names -------------------------------------------------------------------------------
    def resolve(self, node: ast.AST) -> str | None:
        dotted = _dotted(node)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        if head in self.aliases:
            return self.aliases[head] + ("." + rest if rest else "")
        return dotted

    def check_path(self, dotted: str, *, assigned: bool = False) -> None:
        ref = reference_module_of(dotted)
        if ref:
            self.add(f"calls the reference: {ref}")
        parts = dotted.split(".")
        if parts[:2] in (["rnn_helpers", "grader"], ["rnn_helpers", "checks"]):
            self.add(f"reaches into the grading helpers ({'.'.join(parts[:2])}) from a solution cell")
        if parts[0] == "torch" and self.from_scratch:
            last_hits = [p for p in parts[1:] if p in TORCH_RECURRENT]
            if last_hits or (len(parts) == 2 and parts[1] in TORCH_RECURRENT_FUNCS) or parts[1:3] == ["ops", "aten"]:
                self.add(f"uses torch's built-in recurrent implementation ({dotted}) in a from-scratch exercise")
        if parts[0] == "sys" and len(parts) > 1 and parts[1] in SYS_STREAMS:
            # print(..., file=sys.stderr) and sys.stderr.write(...) are honest; rebinding or patching the
            # stream (sys.stderr = ..., sys.stdout.write = ..., setattr/del) and closing it are not
            if assigned or (len(parts) > 2 and parts[2] in STREAM_MUTATORS):
                self.add(SYS_STREAMS[parts[1]])
        elif parts[0] == "sys" and len(parts) > 1 and parts[1] in SYS_FORBIDDEN:
            self.add(SYS_FORBIDDEN[parts[1]])
        if parts[0] == "os" and len(parts) > 1:
            name = parts[1]
            if name in OS_FORBIDDEN:
                self.add(OS_FORBIDDEN[name])
            for prefix, why in OS_PREFIXES.items():
                if name.startswith(prefix):
                    self.add(why)
        if parts[0] in FORBIDDEN_MODULES and (parts[0] != "IPython" or len(parts) > 1):
            self.add(FORBIDDEN_MODULES[parts[0]])
        for p in parts[1:]:
            if p in IPYTHON_HOOKS:
                self.add(IPYTHON_HOOKS[p])
        if assigned and parts[0] in GUARDED_MODULES and len(parts) > 1:
            self.add(f"patches {dotted} (assigns to a library's attribute)")

    # ---- imports -----------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            self.check_path(a.name)
            self.check_module(a.name)
            if a.asname:
                self.aliases[a.asname] = a.name
            else:
                self.aliases.setdefault(a.name.split(".")[0], a.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            self.add("uses a relative import")
        mod = node.module or ""
        self.check_module(mod)
        for a in node.names:
            full = f"{mod}.{a.name}" if a.name != "*" else mod
            self.check_path(full)
            if a.name == "*" and mod.split(".")[0] in ("rnn_helpers", "torch", "os", "sys"):
                self.add(f"imports everything from {mod} (import *)")
            self.aliases[a.asname or a.name] = full

    def check_module(self, name: str) -> None:
        top = name.split(".")[0]
        if top in FORBIDDEN_MODULES:
            self.add(FORBIDDEN_MODULES[top])

    # ---- uses --------------------------------------------------------------------------------
    def visit_Attribute(self, node: ast.Attribute) -> None:
        resolved = self.resolve(node)
        if resolved:
            self.check_path(resolved, assigned=isinstance(node.ctx, (ast.Store, ast.Del)))
        elif node.attr in IPYTHON_HOOKS:
            self.add(IPYTHON_HOOKS[node.attr])
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in NAME_HOOKS:
            self.add(IPYTHON_HOOKS[node.id])
        if isinstance(node.ctx, ast.Load) and HISTORY_NAMES.match(node.id):
            self.add("reads IPython's input/output history (the source of other cells)")
        if node.id in self.aliases:
            self.check_path(self.aliases[node.id])
        if isinstance(node.ctx, ast.Load) and node.id in DYNAMIC_NAMES:
            self.add(DYNAMIC_NAMES[node.id])
        if isinstance(node.ctx, ast.Store) and node.id in ("print", "len", "isinstance", "range", "float", "int",
                                                            "abs", "sum", "max", "min", "getattr", "type"):
            self.add(f"rebinds the builtin {node.id}")

    def visit_Expr(self, node: ast.Expr) -> None:
        # a bare string statement is a docstring or a comment: prose may name anything
        if not (isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str):
            for m in re.finditer(r"rnn_helpers[./](\w+)(?:[./](\w+))?", node.value):
                ref = reference_module_of("rnn_helpers." + m.group(1) + ("." + m.group(2) if m.group(2) else ""))
                if ref:
                    self.add(f"names the reference in a string: {ref}")

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = self.resolve(func) or ""
        short = name.split(".")[-1]
        if isinstance(func, ast.Name) and func.id in CALLS:
            self.add(CALLS[func.id])
        if short in ("getattr", "setattr", "delattr", "hasattr") and name in ("getattr", "setattr", "delattr",
                                                                              "hasattr", "builtins." + short):
            target = self.resolve(node.args[0]) if node.args else None
            computed = len(node.args) < 2 or not (isinstance(node.args[1], ast.Constant)
                                                  and isinstance(node.args[1].value, str))
            # where torch's modules are allowed, a computed name on a local object (the notebooks' own idiom
            # getattr(module, "weight_ih_l0").copy_(...)) is harmless: the reference is stripped in the sandbox.
            # On a module, an alias of one, or in a from-scratch cell, it stays an evasion.
            plain_object = (not self.from_scratch and target is not None and "." not in target
                            and target not in self.aliases and target not in GUARDED_MODULES)
            if computed and not plain_object:
                self.add(f"looks up attributes by computed name ({short})")
            elif target and not computed:
                self.check_path(f"{target}.{node.args[1].value}", assigned=short in ("setattr", "delattr"))
            if short in ("setattr", "delattr") and target and target.split(".")[0] in GUARDED_MODULES:
                self.add(f"patches {target} ({short})")
        if name in ("globals", "vars", "locals") or short in ("globals", "vars") and name == short:
            self.add(f"reads or rewrites the namespace ({name}())")
        if name == "open" or name.endswith("Path.open") or short in ("read_text", "read_bytes", "write_text",
                                                                   "write_bytes"):
            self.check_open(node, name)
        if name.startswith(("np.load", "numpy.load")) or short in ("load", "loadtxt", "fromfile", "genfromtxt") \
                and name.split(".")[0] in ("np", "numpy", "torch"):
            self.add(f"loads data from files ({name})")
        if short == "__setattr__" or short == "__setitem__" and "__dict__" in name:
            self.add("patches attributes through __setattr__/__dict__")
        self.generic_visit(node)

    def check_open(self, node: ast.Call, name: str) -> None:
        if name != "open":
            self.add(f"reads or writes files ({name})")
            return
        path = node.args[0] if node.args else None
        mode = node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "mode"), None)
        if not (isinstance(path, ast.Constant) and isinstance(path.value, str)):
            self.add("opens a file whose path is computed at run time")
        elif path.value.startswith(("/", "~")) or ".." in path.value or not _PLAIN_FILE.match(path.value):
            self.add(f"opens a file outside the notebook's directory ({path.value!r})")
        if mode is not None:
            if not (isinstance(mode, ast.Constant) and isinstance(mode.value, str)):
                self.add("opens a file with a computed mode")
            elif set(mode.value) & set("wax+"):
                self.add("writes files (open for writing)")

    def visit_Assign(self, node: ast.Assign) -> None:
        for t in node.targets:
            self.check_target(t)
        value = self.resolve(node.value)
        if value and value.split(".")[0] in {v.split(".")[0] for v in self.aliases.values()}:
            for t in node.targets:  # ``nn = torch.nn``: follow the alias
                if isinstance(t, ast.Name):
                    self.aliases[t.id] = value
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.check_target(node.target)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.check_target(node.target)
        self.generic_visit(node)

    def check_target(self, target: ast.AST) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for t in target.elts:
                self.check_target(t)
            return
        if isinstance(target, ast.Subscript):
            base = self.resolve(target.value)
            if base:
                self.check_path(base, assigned=True)
                if base.split(".")[-1] in ("__dict__",):
                    self.add("patches attributes through __dict__")

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        bases = [self.resolve(b) or "" for b in node.bases]
        if any(b.split(".")[-1] in ("ndarray", "Tensor") for b in bases):
            self.add(f"defines a subclass of {', '.join(b for b in bases if b)} (values that can lie about equality)")
        for item in node.body:
            if isinstance(item, ast.FunctionDef) and item.name in ("__eq__", "__ne__", "__array_ufunc__",
                                                                    "__array_function__", "__torch_function__",
                                                                    "__array_finalize__", "__bool__"):
                self.add(f"defines {item.name} (objects that can lie about comparisons)")
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        for n in node.names:
            if n in ("np", "numpy", "torch", "rnn_helpers", "record_check", "run_cases", "emit"):
                self.add(f"rebinds the global {n}")

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if node.name in ("record_check", "run_cases", "emit", "display", "get_ipython", "print"):
            self.add(f"defines a function named {node.name} (shadows the grading helpers)")
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef


_MAGIC = re.compile(r"^\s*(%{1,2}|!)", re.MULTILINE)
# magics the chapters themselves use, harmless in a graded notebook: dropped before the scan
# (``%time``/``%timeit`` keep their code, which is scanned like any other)
_HARMLESS_MAGIC_LINE = re.compile(r"^[ \t]*%(?:matplotlib(?:[ \t]+[A-Za-z_]+)?|precision(?:[ \t]+[0-9%.a-z]+)?"
                                  r"|config[ \t]+InlineBackend\.[A-Za-z_]+[ \t]*=[ \t]*[\w'\"{}:., ]*)[ \t]*$",
                                  re.MULTILINE)
_TIMING_MAGIC = re.compile(r"^([ \t]*)%%?time(?:it)?\b(?:[ \t]+-[A-Za-z](?:[ \t]*\d+)?)*[ \t]*", re.MULTILINE)


def scan_source(source: str, *, from_scratch: bool) -> list[str]:
    """Plain-words reasons why this solution cell's source may not earn points; [] when none.

    ``from_scratch`` adds torch's recurrent modules to what is not allowed. Never raises on bad input.
    """
    if not isinstance(source, str):
        return [f"cell source is not text ({type(source).__name__})"]
    reasons = []
    source = _HARMLESS_MAGIC_LINE.sub("#", source)
    source = _TIMING_MAGIC.sub(lambda m: m.group(1), source)
    if _MAGIC.search(source):
        reasons.append("uses IPython magics or shell commands (% or !)")
        source = _MAGIC.sub(lambda m: "#", source)
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return reasons + [f"does not parse: {exc.msg} (line {exc.lineno})"]
    except (ValueError, RecursionError, MemoryError) as exc:
        return reasons + [f"does not parse: {type(exc).__name__}"]
    scanner = _Scanner(from_scratch)
    try:
        scanner.visit(tree)
    except RecursionError:
        scanner.add("is nested too deeply to check")
    except Exception as exc:  # noqa: BLE001 - a scanner bug must not crash the batch; the cell is flagged
        scanner.add(f"could not be checked ({type(exc).__name__})")
    return reasons + scanner.reasons
