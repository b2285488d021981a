"""Generated traces in the replay inputs of AIPerf, SGLang, GuideLLM, inference-perf and BLIS.

Every format is read back by the rules its tool documents (time unit, origin, columns) and
compared with servechar's own CSV of the same generation. Where the tool installs within
CI's time, its own loader reads the file too: AIPerf (installed by `.ci/run` into
`.venv-aiperf`, apart from our dependencies), and the inference-perf trace reader
(from the same environment). The end-to-end test replays a one-minute trace with AIPerf
against a stub OpenAI-compatible server on 127.0.0.1 and checks the arrival times.

Without those tools the tests that need them skip, naming what is missing; with
SERVECHAR_REQUIRE_REPLAY_TOOLS=1 (set by `.ci/run`) they fail instead.
"""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from pipeline.cli import app

ROOT = Path(__file__).resolve().parents[1]
REQUIRE_TOOLS = os.environ.get("SERVECHAR_REQUIRE_REPLAY_TOOLS") == "1"
AIPERF_PYTHON = Path(os.environ.get("SERVECHAR_AIPERF_PYTHON", ROOT / ".venv-aiperf/bin/python"))

START_S = 12 * 3600  # the sample's clients are all active at noon
DURATION_S = 600
runner = CliRunner()


def _tool_python() -> Path:
    """The AIPerf environment's Python, or skip (fail under SERVECHAR_REQUIRE_REPLAY_TOOLS)."""
    if AIPERF_PYTHON.is_file():
        probe = subprocess.run(
            [str(AIPERF_PYTHON), "-c", "import aiperf"], capture_output=True, text=True
        )
        if probe.returncode == 0:
            return AIPERF_PYTHON
        reason = f"AIPerf is not importable from {AIPERF_PYTHON}: {probe.stderr.strip()[-300:]}"
    else:
        reason = f"no AIPerf environment at {AIPERF_PYTHON} (`.ci/run` creates it)"
    if REQUIRE_TOOLS:
        pytest.fail(f"{reason}; SERVECHAR_REQUIRE_REPLAY_TOOLS=1 requires it")
    pytest.skip(reason)


def _in_tool_env(script: str, *args: str) -> object:
    """Run `script` with the tool environment's Python; its stdout is JSON."""
    done = subprocess.run(
        [str(_tool_python()), "-c", script, *args], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def _generate(run: Path, output: Path, fmt: str, *extra: str) -> tuple[list[Path], str]:
    result = runner.invoke(
        app,
        [
            "generate",
            str(run),
            "--start",
            str(START_S),
            "--duration",
            str(DURATION_S),
            "--seed",
            "3",
            "--format",
            fmt,
            "-o",
            str(output),
            *extra,
        ],
    )
    assert result.exit_code == 0, result.output
    return [Path(line) for line in result.stdout.splitlines()], result.stderr


@pytest.fixture(scope="module")
def reference(sample_run: Path, tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    """servechar's own CSV of the generation every format is compared with."""
    path = tmp_path_factory.mktemp("reference") / "requests.csv"
    _generate(sample_run, path, "servechar")
    trace = pl.read_csv(path)
    assert trace.height > 100
    assert trace["model"].n_unique() == 3  # language, reasoning and multimodal models
    return trace


def _relative_s(reference: pl.DataFrame) -> list[float]:
    return [t - START_S for t in reference["timestamp"].to_list()]


def _jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_mooncake_is_ms_from_the_span_start(
    sample_run: Path, reference: pl.DataFrame, tmp_path: Path
) -> None:
    (path,), _ = _generate(sample_run, tmp_path / "trace.jsonl", "mooncake")
    rows = _jsonl(path)
    assert len(rows) == reference.height
    assert all(set(r) == {"timestamp", "input_length", "output_length"} for r in rows)
    assert all(isinstance(r["timestamp"], int) for r in rows)
    for row, t in zip(rows, _relative_s(reference), strict=True):
        assert abs(row["timestamp"] / 1000 - t) <= 0.0005 + 1e-9
    assert [r["input_length"] for r in rows] == reference["input_tokens"].to_list()
    assert [r["output_length"] for r in rows] == reference["output_tokens"].to_list()


def test_sglang_blocks_cover_the_input_and_are_never_shared(
    sample_run: Path, reference: pl.DataFrame, tmp_path: Path
) -> None:
    (path,), _ = _generate(sample_run, tmp_path / "trace.jsonl", "sglang")
    rows = _jsonl(path)
    assert len(rows) == reference.height
    for row in rows:
        assert len(row["hash_ids"]) == math.ceil(row["input_length"] / 512)
    blocks = [block for row in rows for block in row["hash_ids"]]
    assert len(blocks) == len(set(blocks))
    assert [r["timestamp"] for r in rows] == sorted(r["timestamp"] for r in rows)


def test_guidellm_is_seconds(sample_run: Path, reference: pl.DataFrame, tmp_path: Path) -> None:
    (path,), _ = _generate(sample_run, tmp_path / "trace.jsonl", "guidellm")
    rows = _jsonl(path)
    assert all(set(r) == {"timestamp", "input_length", "output_length"} for r in rows)
    for row, t in zip(rows, _relative_s(reference), strict=True):
        assert abs(row["timestamp"] - t) <= 1e-6
    assert [r["input_length"] for r in rows] == reference["input_tokens"].to_list()


def test_inference_perf_csv_is_the_azure_trace_layout(
    sample_run: Path, reference: pl.DataFrame, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    (path,), _ = _generate(sample_run, tmp_path / "trace.csv", "inference-perf")
    lines = path.read_text().splitlines()
    assert lines[0] == "TIMESTAMP,ContextTokens,GeneratedTokens"
    rows = [line.split(",") for line in lines[1:]]
    assert len(rows) == reference.height
    origin = json.loads((sample_run / "aggregate" / "meta.json").read_text())["origin_us"]
    for (stamp, context, generated), t, i, o in zip(
        rows,
        reference["timestamp"],
        reference["input_tokens"],
        reference["output_tokens"],
        strict=True,
    ):
        parsed = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
        assert abs(parsed.timestamp() - (origin / 1e6 + t)) <= 1e-6
        assert (int(context), int(generated)) == (i, o)


INFERENCE_PERF_READER = """
import importlib.util, json, sys, sysconfig
from pathlib import Path
file = Path(sysconfig.get_paths()["purelib"]) / "inference_perf/utils/trace_reader.py"
spec = importlib.util.spec_from_file_location("trace_reader", file)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps(module.AzurePublicDatasetReader().load_traces(Path(sys.argv[1]))))
"""


def test_inference_perf_reads_it_with_its_own_trace_reader(
    sample_run: Path, reference: pl.DataFrame, tmp_path: Path
) -> None:
    (path,), _ = _generate(sample_run, tmp_path / "trace.csv", "inference-perf")
    # inference-perf needs Python 3.12 as a whole; its trace reader is plain Python, loaded
    # from the installed package's file without the package's heavy __init__.
    traces = _in_tool_env(INFERENCE_PERF_READER, str(path))
    assert len(traces) == reference.height
    relative = [t - reference["timestamp"][0] for t in reference["timestamp"]]
    # The reader shifts to the first row; releases before 0.7 keep two fractional digits.
    assert max(abs(got[0] - want) for got, want in zip(traces, relative, strict=True)) < 0.0201
    assert [got[1] for got in traces] == reference["input_tokens"].to_list()
    assert [got[2] for got in traces] == reference["output_tokens"].to_list()


BLIS_HEADER_KEYS = {  # TraceHeader's yaml keys (sim/workload/tracev2.go), read strictly
    "trace_version",
    "time_unit",
    "created_at",
    "mode",
    "warm_up_requests",
    "workload_seed",
    "workload_spec",
    "session_context_growth",
    "server",
    "network",
    "goodput_slo_targets",
    "kv_offload",
    "observed_kv_metrics",
}
# traceV2Columns as upstream spells them, in the order LoadTraceV2 reads them by position:
# the specification the writer is checked against, so deliberately not imported from it.
BLIS_DATA_COLUMNS = [
    "request_id",
    "client_id",
    "tenant_id",
    "slo_class",
    "session_id",
    "round_index",
    "prefix_group",
    "prefix_length",
    "streaming",
    "input_tokens",
    "output_tokens",
    "text_tokens",
    "image_tokens",
    "audio_tokens",
    "video_tokens",
    "reason_ratio",
    "model",
    "deadline_us",
    "server_input_tokens",
    "arrival_time_us",
    "send_time_us",
    "first_chunk_time_us",
    "last_chunk_time_us",
    "num_chunks",
    "status",
    "error_message",
    "finish_reason",
]


def test_blis_trace_v2_pair(sample_run: Path, reference: pl.DataFrame, tmp_path: Path) -> None:
    files, stderr = _generate(sample_run, tmp_path / "trace.csv", "blis")
    assert files == [tmp_path / "trace.csv", tmp_path / "trace.yaml"]
    header = dict(line.split(": ", 1) for line in files[1].read_text().splitlines())
    assert set(header) <= BLIS_HEADER_KEYS
    assert header["time_unit"] == "microseconds" and header["trace_version"] == "2"
    with files[0].open(newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0] == BLIS_DATA_COLUMNS
    rows = [dict(zip(table[0], row, strict=True)) for row in table[1:]]
    assert len(rows) == reference.height
    for row, want in zip(rows, reference.iter_rows(named=True), strict=True):
        assert abs(int(row["arrival_time_us"]) / 1e6 - (want["timestamp"] - START_S)) <= 1e-6
        assert row["client_id"] == want["client_id"] and row["model"] == want["model"]
        tokens = [int(row[f"{k}_tokens"]) for k in ("text", "image", "audio", "video")]
        assert sum(tokens) == int(row["input_tokens"]) == want["input_tokens"]
        assert tokens[1] == (want["image_tokens"] or 0)
        ratio = float(row["reason_ratio"])
        assert 0.0 <= ratio <= 1.0  # LoadTraceV2 rejects anything else
        if want["reason_tokens"] and want["output_tokens"]:
            assert abs(ratio - want["reason_tokens"] / want["output_tokens"]) <= 1e-6
        assert row["streaming"] in ("true", "false")
    # Item counts and the category have no TraceV2 column: named in the warning.
    assert "Warning: --format blis cannot carry category, image_count" in stderr
    assert "reason_tokens" not in stderr


def test_formats_name_every_field_they_cannot_carry(sample_run: Path, tmp_path: Path) -> None:
    _, stderr = _generate(sample_run, tmp_path / "trace.jsonl", "mooncake")
    assert "Warning: --format mooncake cannot carry" in stderr
    for name in ("client_id", "model", "category", "reason_tokens", "image_count"):
        assert name in stderr
    _, quiet = _generate(sample_run, tmp_path / "own.csv", "servechar")
    assert "Warning" not in quiet


def test_same_seed_gives_identical_bytes(sample_run: Path, tmp_path: Path) -> None:
    (first,), _ = _generate(sample_run, tmp_path / "a.jsonl", "sglang")
    (second,), _ = _generate(sample_run, tmp_path / "b.jsonl", "sglang")
    assert first.read_bytes() == second.read_bytes()


def test_formats_without_timestamped_input_and_unknown_ones_are_errors(
    sample_run: Path, tmp_path: Path
) -> None:
    common = ["generate", str(sample_run), "--duration", "60", "--start", str(START_S), "-o"]
    vllm = runner.invoke(app, [*common, str(tmp_path / "v.jsonl"), "--format", "vllm"])
    assert vllm.exit_code == 1
    assert "no timestamped trace input" in vllm.stderr and "--format mooncake" in vllm.stderr
    unknown = runner.invoke(app, [*common, str(tmp_path / "u.jsonl"), "--format", "aiperf2"])
    assert unknown.exit_code == 1 and "Hint: Use one of: servechar, mooncake" in unknown.stderr
    clash = runner.invoke(app, [*common, str(tmp_path / "t.yaml"), "--format", "blis"])
    assert clash.exit_code == 1 and "header YAML" in clash.stderr
    assert not list(tmp_path.iterdir())  # nothing written by a failed run


AIPERF_LOADER = """
import json, sys
from aiperf.dataset.loader.models import MooncakeTrace
rows = []
with open(sys.argv[1]) as handle:
    for line in handle:
        trace = MooncakeTrace.model_validate_json(line)
        rows.append([trace.timestamp, trace.input_length, trace.output_length])
print(json.dumps(rows))
"""


def test_aiperf_loads_the_mooncake_trace_with_its_own_schema(
    sample_run: Path, reference: pl.DataFrame, tmp_path: Path
) -> None:
    (path,), _ = _generate(sample_run, tmp_path / "trace.jsonl", "mooncake")
    rows = _in_tool_env(AIPERF_LOADER, str(path))
    assert len(rows) == reference.height
    assert [r[1] for r in rows] == reference["input_tokens"].to_list()
    assert [r[2] for r in rows] == reference["output_tokens"].to_list()
    for (stamp, _, _), t in zip(rows, _relative_s(reference), strict=True):
        assert abs(stamp / 1000 - t) <= 0.0005 + 1e-9


class _StubServer(ThreadingHTTPServer):
    daemon_threads = True
    arrivals: list[float]


class _StubHandler(BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint that answers at once and records arrival times."""

    server: _StubServer

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _send(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._send(200, {"object": "list", "data": [{"id": "stub", "object": "model"}]})
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        arrived = time.monotonic()
        length = int(self.headers.get("Content-Length") or 0)
        request = json.loads(self.rfile.read(length) or b"{}")
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send(404, {"error": "not found"})
            return
        self.server.arrivals.append(arrived)
        tokens = int(request.get("max_completion_tokens") or request.get("max_tokens") or 1)
        self._send(
            200,
            {
                "id": "stub",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": request.get("model", "stub"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": " ".join(["ok"] * tokens)},
                        "finish_reason": "length",
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": tokens, "total_tokens": 1},
            },
        )


TOKENIZER_SCRIPT = """
import sys
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers
from transformers import PreTrainedTokenizerFast
text = open(sys.argv[2]).read().split("\\n")
tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tokenizer.decoder = decoders.ByteLevel()
trainer = trainers.BpeTrainer(
    vocab_size=600, special_tokens=["[UNK]", "<s>", "</s>"],
    initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
)
tokenizer.train_from_iterator(text, trainer)
PreTrainedTokenizerFast(
    tokenizer_object=tokenizer, unk_token="[UNK]", bos_token="<s>", eos_token="</s>"
).save_pretrained(sys.argv[1])
"""


def test_aiperf_replays_a_one_minute_trace_on_schedule(sample_run: Path, tmp_path: Path) -> None:
    python = _tool_python()
    trace_path = tmp_path / "minute.jsonl"
    result = runner.invoke(
        app,
        [
            "generate",
            str(sample_run),
            "--start",
            str(START_S),
            "--duration",
            "60",
            "--scale",
            "4",
            "--seed",
            "5",
            "--format",
            "mooncake",
            "-o",
            str(trace_path),
        ],
    )
    assert result.exit_code == 0, result.output
    schedule_ms = [row["timestamp"] for row in _jsonl(trace_path)]
    assert 40 <= len(schedule_ms) <= 400
    # A local tokenizer: AIPerf's default one is downloaded at run time.
    corpus = tmp_path / "corpus.txt"
    corpus.write_text((ROOT / "README.md").read_text(encoding="utf-8"))
    tokenizer = tmp_path / "tokenizer"
    made = subprocess.run(
        [str(python), "-c", TOKENIZER_SCRIPT, str(tokenizer), str(corpus)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert made.returncode == 0, made.stderr[-2000:]

    server = _StubServer(("127.0.0.1", 0), _StubHandler)
    server.arrivals = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        # A local tokenizer directory needs no network (AIPerf 0.13 would look a path up in
        # the hub cache under HF_HUB_OFFLINE, so that is not set).
        env = {**os.environ, "NO_COLOR": "1"}
        done = subprocess.run(
            [
                str(python),
                "-m",
                "aiperf",
                "profile",
                "--model",
                "stub",
                "--url",
                f"http://127.0.0.1:{server.server_address[1]}",
                "--endpoint-type",
                "chat",
                "--input-file",
                str(trace_path),
                "--custom-dataset-type",
                "mooncake_trace",
                "--fixed-schedule",
                "--tokenizer",
                str(tokenizer),
                "--artifact-dir",
                str(tmp_path / "artifacts"),
                "--ui-type",
                "none",
                "--no-server-metrics",
                "--no-gpu-telemetry",
            ],
            capture_output=True,
            text=True,
            timeout=400,
            env=env,
            stdin=subprocess.DEVNULL,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    arrivals = sorted(server.arrivals)
    assert len(arrivals) == len(schedule_ms)  # every request, none extra (no warm-up)
    # Anchored at the first request: each later one's lag behind its scheduled offset.
    lags = [
        (arrived - arrivals[0]) - (planned - schedule_ms[0]) / 1000
        for arrived, planned in zip(arrivals, schedule_ms, strict=True)
    ]
    lags.sort()
    median = lags[len(lags) // 2]
    print(f"replayed {len(arrivals)} requests, median lag {median * 1000:.1f} ms", file=sys.stderr)
    assert abs(median) < 0.050


def test_default_output_takes_the_format_suffix(
    sample_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    common = ["generate", str(sample_run), "--duration", "60", "--start", str(START_S)]
    result = runner.invoke(app, [*common, "--format", "guidellm"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["requests.jsonl"]
    assert (tmp_path / "requests.jsonl").read_text().startswith('{"timestamp":')
    result = runner.invoke(app, [*common, "--format", "blis"])
    assert result.stdout.splitlines() == ["requests.csv", "requests.yaml"]


@pytest.mark.parametrize("fmt", ["servechar", "mooncake", "blis"])
def test_a_span_where_some_models_send_nothing_still_writes_the_others(
    sample_run: Path, tmp_path: Path, fmt: str
) -> None:
    """The first 10 s of the sample: chat and reasoning traffic but no multimodal request (the
    silent model's fields become empty columns, not a KeyError)."""
    out = tmp_path / "t.out"
    span = ["--start", "0", "--duration", "10"]
    result = runner.invoke(
        app, ["generate", str(sample_run), *span, "--format", fmt, "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open())) if fmt != "mooncake" else _jsonl(out)
    assert 0 < len(rows) < 20
    if fmt == "servechar":
        assert "multimodal" not in {row["category"] for row in rows}
