"""Read a ComfyUI graph from what a user has at hand, and propose a draft around it (DESIGN §8 "Import").

What ComfyUI gives people:

- "Export (API)" writes the API format: a JSON object of node id → `{"class_type", "inputs", "_meta"?}`,
  where an input is a literal or a link `[node id, output index]`. That is what a `comfyui` step runs.
- Every PNG its SaveImage node writes carries two text chunks: `prompt` (the same API-format graph) and
  `workflow` (the editor's UI format: `{"nodes": [...], "links": [...], …}`, which positions boxes on
  a canvas and cannot be submitted). A file with only the UI format is refused, saying so.

The PNG is walked chunk by chunk, never decoded: its pixels do not matter, and decoding an upload
is what a decompression bomb wants. Compressed text chunks are inflated only up to MAX_GRAPH_BYTES.

The proposal: text prompts become string inputs (their text in the graph the default), image
loaders become image inputs, sampler and noise seeds become `$seed`, and the node that saves
images becomes the step's `output_node`. The draft then goes through the editor and the gate."""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

from core.errors import Problem, ValidationFailed
from core.jsonsafe import loads as json_loads

MAX_FILE_BYTES = 8 * 1024 * 1024  # a ComfyUI PNG is a few MB; the graph in it a few kB
MAX_GRAPH_BYTES = 1024 * 1024  # the graph's JSON, inflated
MAX_NODES = 1000
MAX_CHUNKS = 10_000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
STEP_ID = "comfyui"

# Nodes that save (or show) images, best first: the first present is the step's output.
OUTPUT_CLASSES = ("SaveImage", "SaveAnimatedWEBP", "SaveAnimatedPNG", "SaveImageWebsocket", "PreviewImage")
# Image loaders: their `image` input (a file name on the ComfyUI server) becomes an image input.
IMAGE_LOADERS = {"LoadImage": "image", "LoadImageMask": "image"}
# Seeds, by node class → input; any other literal integer input named `seed` or `noise_seed` counts too.
SEED_INPUTS = {"KSampler": "seed", "KSamplerAdvanced": "noise_seed", "RandomNoise": "noise_seed"}
SEED_NAMES = ("seed", "noise_seed")
# Text prompts: every literal text input of a text encoder (CLIPTextEncode.text, CLIPTextEncodeSDXL's
# text_g/text_l, CLIPTextEncodeFlux's clip_l/t5xxl, …) and of a string primitive.
TEXT_ENCODER = re.compile(r"TextEncode", re.IGNORECASE)
STRING_PRIMITIVES = {"PrimitiveString": "value", "PrimitiveStringMultiline": "value"}


def _refuse(code: str, message: str, path: str = "file") -> ValidationFailed:
    return ValidationFailed([Problem(code, path, message)])


# --- reading ------------------------------------------------------------------------------


def read_bounded(upload: Any) -> bytes:
    """An uploaded file's bytes, read at most one byte past the limit (a declared size over it is refused
    before anything is read), so graph_from_upload refuses an oversize file without holding it."""
    size = getattr(upload, "size", None)
    if size is not None and size > MAX_FILE_BYTES:
        raise _refuse("file_too_large", f"The file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}.")
    data: bytes = upload.read(MAX_FILE_BYTES + 1)
    return data


def graph_from_upload(data: bytes) -> dict[str, Any]:
    """The API-format graph in an uploaded file: a PNG ComfyUI saved, or a JSON export."""
    if len(data) > MAX_FILE_BYTES:
        raise _refuse("file_too_large", f"The file is {len(data):,} bytes; the limit is {MAX_FILE_BYTES:,}.")
    if not data.strip():
        raise _refuse("empty_file", "The file is empty.")
    if data.startswith(PNG_SIGNATURE):
        return _graph_from_png(data)
    if kind := _image_kind(data):
        raise _refuse(
            "no_graph",
            f"This is a {kind} image: ComfyUI embeds its graph only in the PNG files it saves. "
            "Drop the PNG, or paste the graph from “Export (API)”.",
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _refuse(
            "not_a_graph", "This file is neither a PNG that ComfyUI saved nor a JSON export of a graph."
        ) from None
    return graph_from_json_text(text)


def graph_from_json_text(text: str, path: str = "file") -> dict[str, Any]:
    if len(text.encode("utf-8")) > MAX_GRAPH_BYTES:
        raise _refuse("graph_too_large", f"The graph is larger than {MAX_GRAPH_BYTES:,} bytes.", path)
    try:
        value = json_loads(text, path=path)
    except ValidationFailed as exc:
        raise _refuse("invalid_json", f"This is not valid JSON, so not a ComfyUI graph: {exc.message}", path) from None
    return api_graph(value, path=path)


def api_graph(value: Any, path: str = "graph") -> dict[str, Any]:
    """An API-format graph, checked for its shape; the UI format and anything else are refused clearly."""
    if isinstance(value, dict) and isinstance(value.get("prompt"), dict) and "class_type" not in value:
        value = value["prompt"]  # the body of a POST /prompt, or of /history, carries the graph under "prompt"
    if _is_ui_format(value):
        raise _refuse(
            "ui_format",
            "This is ComfyUI's UI workflow (nodes and links on a canvas), not the API format a server runs. "
            "In ComfyUI, use Workflow → Export (API), and import that file.",
            path,
        )
    if not isinstance(value, dict) or not value:
        raise _refuse("no_graph", "No ComfyUI graph here: expected an object of node id → {class_type, inputs}.", path)
    if len(value) > MAX_NODES:
        raise _refuse("graph_too_large", f"The graph has {len(value)} nodes; the limit is {MAX_NODES}.", path)
    problems = []
    graph: dict[str, Any] = {}
    for node_id, node in value.items():
        where = f"{path}.{node_id}"
        if not isinstance(node, dict) or not isinstance(node.get("class_type"), str) or not node["class_type"]:
            problems.append(
                Problem("no_graph", where, f"Node {node_id} has no class_type: this is not a ComfyUI graph.")
            )
            continue
        inputs = node.get("inputs", {})
        if not isinstance(inputs, dict):
            problems.append(Problem("no_graph", f"{where}.inputs", f"Node {node_id}'s inputs must be an object."))
            continue
        kept: dict[str, Any] = {"class_type": node["class_type"], "inputs": inputs}
        title = (node.get("_meta") or {}).get("title") if isinstance(node.get("_meta"), dict) else None
        if isinstance(title, str) and title:
            kept["_meta"] = {"title": title}
        graph[str(node_id)] = kept
    if problems:
        raise ValidationFailed(problems[:20])
    return graph


def _is_ui_format(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("nodes"), list) and "links" in value


def _image_kind(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    return None


def png_text_chunks(data: bytes) -> dict[str, str]:
    """The text chunks of a PNG (tEXt, zTXt, iTXt) by keyword, without decoding any pixel."""
    texts: dict[str, str] = {}
    pos = len(PNG_SIGNATURE)
    for _ in range(MAX_CHUNKS):
        if pos + 8 > len(data):
            break
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if len(body) < length:
            break  # truncated: keep what was read
        pos += 12 + length  # length, type, body, CRC
        if kind == b"IEND":
            break
        if kind in (b"tEXt", b"zTXt", b"iTXt"):
            found = _text_chunk(kind, body)
            if found is not None:
                texts.setdefault(found[0], found[1])
    return texts


def _text_chunk(kind: bytes, body: bytes) -> tuple[str, str] | None:
    keyword, sep, rest = body.partition(b"\x00")
    if not sep:
        return None
    name = keyword.decode("latin-1")
    try:
        if kind == b"tEXt":
            return name, rest.decode("latin-1")
        if kind == b"zTXt":
            return name, _inflate(rest[1:]).decode("latin-1")  # one byte of compression method, then zlib
        compressed, _method = rest[:1] == b"\x01", rest[1:2]
        _language, _, rest = rest[2:].partition(b"\x00")
        _translated, _, text = rest.partition(b"\x00")
        return name, (_inflate(text) if compressed else text).decode("utf-8")
    except (zlib.error, UnicodeDecodeError, ValueError):
        return None


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    out = inflater.decompress(data, MAX_GRAPH_BYTES + 1)
    if len(out) > MAX_GRAPH_BYTES:
        raise ValueError("text chunk too large")
    return out


def _graph_from_png(data: bytes) -> dict[str, Any]:
    texts = png_text_chunks(data)
    if "prompt" in texts:
        return graph_from_json_text(texts["prompt"])
    if "workflow" in texts:
        raise _refuse(
            "ui_format",
            "This PNG holds only ComfyUI's UI workflow, not the API-format graph a server runs. "
            "Open it in ComfyUI and use Workflow → Export (API), then import that file.",
        )
    raise _refuse("no_graph", "This PNG holds no ComfyUI graph: ComfyUI's SaveImage writes it in a 'prompt' chunk.")


# --- proposing ------------------------------------------------------------------------------


@dataclass
class Proposal:
    """What the import makes of a graph: the draft's definition and a line per proposal, for the user."""

    definition: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def _is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str | int)


def _ordered(graph: dict[str, Any]) -> list[str]:
    """Node ids in ComfyUI's order: numerically where they are numbers, then the rest by name."""
    return sorted(graph, key=lambda n: (0, int(n), "") if n.isdigit() else (1, 0, n))


def _name(base: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9_]+", "_", base.lower()).strip("_") or "input"
    if not base[0].isalpha() and base[0] != "_":
        base = f"input_{base}"
    base = base[:50]
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def _prompt_roles(graph: dict[str, Any]) -> dict[str, str]:
    """Text-encoder node id → "prompt" or "negative_prompt", from the samplers' positive/negative links."""
    roles: dict[str, str] = {}
    for node_id in _ordered(graph):
        inputs = graph[node_id]["inputs"]
        for slot, role in (("positive", "prompt"), ("negative", "negative_prompt")):
            link = inputs.get(slot)
            if _is_link(link) and str(link[0]) in graph:
                roles.setdefault(str(link[0]), role)
    return roles


def _output_node(graph: dict[str, Any]) -> str:
    for wanted in OUTPUT_CLASSES:
        for node_id in _ordered(graph):
            if graph[node_id]["class_type"] == wanted:
                return node_id
    for node_id in _ordered(graph):
        if graph[node_id]["class_type"].startswith("Save"):
            return node_id
    raise _refuse(
        "no_output_node",
        "The graph has no node that saves an image (SaveImage, PreviewImage, …): ComfyUI would not run it, "
        "and the step would have no output.",
        "graph",
    )


def propose_definition(graph: dict[str, Any], *, model: str) -> Proposal:
    """A definition with one `comfyui` step running `graph`, its inputs and bindings proposed."""
    output_node = _output_node(graph)
    roles = _prompt_roles(graph)
    inputs: dict[str, Any] = {}
    bindings: dict[str, str] = {}
    notes: list[str] = []
    taken: set[str] = set()
    seeded = 0
    for node_id in _ordered(graph):
        node = graph[node_id]
        cls, given = node["class_type"], node["inputs"]
        title = (node.get("_meta") or {}).get("title") or cls
        for slot, value in given.items():
            target = f"{node_id}.{slot}"
            if _is_link(value):
                continue
            if (SEED_INPUTS.get(cls) == slot or slot in SEED_NAMES) and isinstance(value, int):
                bindings[target] = "$seed"
                seeded += 1
                notes.append(f"{title} (node {node_id}) {slot} → the step's seed")
            elif IMAGE_LOADERS.get(cls) == slot:
                name = _name("reference", taken)
                inputs[name] = {
                    "type": "image",
                    "required": True,
                    "description": f"{title} (node {node_id}); the graph loaded {value!s:.80}",
                }
                bindings[target] = f"{{{{inputs.{name}}}}}"
                notes.append(f"{title} (node {node_id}) {slot} → image input '{name}'")
            elif isinstance(value, str) and (
                (TEXT_ENCODER.search(cls) and slot not in ("clip",)) or STRING_PRIMITIVES.get(cls) == slot
            ):
                role = roles.get(node_id)
                base = role if role and len(given) <= 2 else (f"{role}_{slot}" if role else slot)
                name = _name(base if base not in ("text", "value") else "prompt", taken)
                inputs[name] = {
                    "type": "string",
                    "required": False,
                    "default": value,
                    "description": f"{title} (node {node_id}) {slot}",
                }
                bindings[target] = f"{{{{inputs.{name}}}}}"
                notes.append(f"{title} (node {node_id}) {slot} → text input '{name}'")
    if not seeded:
        notes.append("No sampler or noise seed found: the step's seed is recorded but changes nothing.")
    step = {
        "id": STEP_ID,
        "kind": "comfyui",
        "model": model,
        "graph": graph,
        "bindings": bindings,
        "output_node": output_node,
    }
    notes.insert(0, f"Output: {graph[output_node]['class_type']} (node {output_node})")
    definition = {"inputs": inputs, "steps": [step], "outputs": {"image": f"{{{{steps.{STEP_ID}.output}}}}"}}
    return Proposal(definition, notes)
