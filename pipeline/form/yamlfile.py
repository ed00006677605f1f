"""Reading a form file safely: an ordinary file, of bounded size, in UTF-8, with YAML that cannot expand.

Form files are written by people (in Notepad, on a shared drive) and by `adopt`, and a forms folder may
hold anything.  Every command loads them first, so each way a file can be wrong ends in a message that
names the file and says what to do, never a traceback or a hang:

- a FIFO, a device or a link to one (`x.yaml -> /dev/zero`) is refused before it is read (a FIFO would
  block the open itself: it is opened non-blocking, and checked again on the open handle);
- at most `FORM_FILE_MAX_BYTES` are read: no real form comes near it;
- the text must be UTF-8 (a UTF-8 byte-order mark is fine); Windows "ANSI" (Latin-1) gets the fix;
- YAML aliases (`*a`, which PyYAML's own dumper writes for a repeated list) are allowed only while the
  document they expand to stays small: nine lines of them ("billion laughs") expand to gigabytes the moment
  anything walks or prints the value, so the expanded size is counted on the node graph, before anything
  is built from it, and a loop (an alias inside its own anchor) is refused.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any

import yaml

from pipeline import constants as C
from pipeline.errors import FormDefinitionError


def _expanded_nodes(root: yaml.Node) -> int:
    """How many nodes the document has once every alias is written out (memoised, so it costs one pass over
    the distinct nodes); -1 for a loop, which could never be written out."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    open_nodes: set[int] = set()
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in sizes and not children_done:
            continue
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            children = []
        if not children_done:
            if key in open_nodes:
                return -1
            open_nodes.add(key)
            stack.append((node, True))
            for child in children:
                if id(child) in open_nodes:
                    return -1
                if id(child) not in sizes:
                    stack.append((child, False))
            continue
        open_nodes.discard(key)
        sizes[key] = min(1 + sum(sizes[id(c)] for c in children), C.FORM_FILE_MAX_NODES + 1)
    return sizes[id(root)]


def _read_bytes(path: Path) -> bytes:
    try:
        info = path.stat()
    except OSError as exc:
        raise FormDefinitionError(f"{path}: cannot be read ({exc.strerror})", "check the file exists") from exc
    if not stat.S_ISREG(info.st_mode):
        raise FormDefinitionError(f"{path}: is not an ordinary file (a folder, a pipe, a device, or a link to one)",
                                  "move it out of the forms folder; a form file is a plain text file")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise FormDefinitionError(f"{path}: cannot be read ({exc.strerror})", "check the file exists") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced between the check and the open
            raise FormDefinitionError(f"{path}: is not an ordinary file",
                                      "move it out of the forms folder; a form file is a plain text file")
        chunks, size = [], 0
        while size <= C.FORM_FILE_MAX_BYTES:
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError as exc:
                if exc.errno == errno.EAGAIN:
                    continue
                raise FormDefinitionError(f"{path}: cannot be read ({exc.strerror})",
                                          "check the file is not damaged") from exc
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > C.FORM_FILE_MAX_BYTES:
        raise FormDefinitionError(f"{path}: is larger than {C.FORM_FILE_MAX_BYTES // 1_000_000} MB, far more than "
                                  "any form definition", "check this is the right file; a form file is a few kB")
    return b"".join(chunks)


def read_text(path: Path) -> str:
    """The file's text, or a FormDefinitionError that says what is wrong with it."""
    raw = _read_bytes(path)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise FormDefinitionError(
            f"{path}: is not saved as UTF-8 text (byte {exc.start + 1}, line {line}, cannot be read as UTF-8; "
            "Windows Notepad's 'ANSI' encoding does this to letters such as 'é')",
            "open the file in Notepad, choose File > Save As, set Encoding to 'UTF-8' and save it again") from exc


# libyaml's parser when PyYAML has it: an adopted form's file is thousands of lines, and the pure-Python parser
# took half a second a file, every scan
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(path: Path) -> Any:
    """The file's YAML data (plain data only: no tags, no aliases)."""
    text = read_text(path)
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        # no '*' means no alias; with none, a document has fewer nodes than characters (each value, key or
        # bracket is at least one): the count can then only come out within bounds, and a large adopted form
        # (hundreds of anchors) skips a pass over every node
        small = "*" not in text and len(text) < C.FORM_FILE_MAX_NODES
        size = 1 if small else _expanded_nodes(node)
        if size < 0 or size > C.FORM_FILE_MAX_NODES:
            why = "an alias ('*name') inside its own anchor" if size < 0 else (
                f"aliases ('*name') that expand to more than {C.FORM_FILE_MAX_NODES:,} values")
            raise FormDefinitionError(f"{path}: uses {why}, far more than any form definition",
                                      "write each value out in full rather than with '&name' and '*name'")
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise FormDefinitionError(f"{path}: is not valid YAML{where}",
                                  "check the indentation and that text containing ':' is in quotes") from exc
    except RecursionError as exc:
        raise FormDefinitionError(f"{path}: is nested far too deeply to be a form definition",
                                  "check this is the right file") from exc
    finally:
        loader.dispose()
