"""The printed table, the targets (issues #6 and #13), and the figures every run must produce."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

#: Every figure a run must produce, as paths into the results (``*`` = every list item).
FIGURES: tuple[str, ...] = (
    "command_path.levels.*.http.throughput_per_s",
    "command_path.levels.*.http.latency.p50_ms",
    "command_path.levels.*.http.latency.p99_ms",
    "command_path.levels.*.library.throughput_per_s",
    "command_path.levels.*.library.latency.p50_ms",
    "command_path.levels.*.library.latency.p99_ms",
    "command_path.levels.*.pgbench.throughput_per_s",
    "command_path.levels.*.pgbench.latency.p50_ms",
    "command_path.levels.*.pgbench.latency.p99_ms",
    "command_path.peak.http_over_library",
    "command_path.half_peak.throughput_per_s",
    "command_path.half_peak.latency.p50_ms",
    "command_path.half_peak.latency.p99_ms",
    "projection_lag.peak.p50_ms",
    "projection_lag.peak.p99_ms",
    "projection_lag.half_peak.p50_ms",
    "projection_lag.half_peak.p99_ms",
    "rebuild.rebuild_events_per_s",
    "rebuild.raw_rows_per_s",
    "rebuild.decode_events_per_s",
    "rebuild.rebuild_over_raw",
    "board_statistics.board_monthly.p50_ms",
    "board_statistics.board_monthly.p99_ms",
    "board_statistics.board_totals.p50_ms",
    "board_statistics.board_totals.p99_ms",
    "board_statistics.all_schools.p50_ms",
    "board_statistics.all_schools.p99_ms",
    "audit_replay.http.p50_ms",
    "audit_replay.http.p99_ms",
    "audit_replay.service.p50_ms",
    "audit_replay.service.p99_ms",
    "audit_replay.from_log.p50_ms",
    "audit_replay.from_log.p99_ms",
    "audit_replay.via_timeline.p50_ms",
    "audit_replay.via_timeline.p99_ms",
    "tenant_scale.schools",
    "tenant_scale.processes.web.rss_mb",
    "tenant_scale.processes.web.peak_rss_mb",
    "tenant_scale.processes.worker.rss_mb",
    "tenant_scale.processes.worker.peak_rss_mb",
    "tenant_scale.connections_max.web",
    "tenant_scale.connections_max.worker",
)


def _walk(value: Any, parts: list[str], path: str) -> list[tuple[str, Any]]:
    if not parts:
        return [(path, value)]
    head, rest = parts[0], parts[1:]
    if head == "*":
        if not isinstance(value, list) or not value:
            return [(path + ".*", None)]
        return [hit for i, item in enumerate(value) for hit in _walk(item, rest, f"{path}.{i}")]
    if not isinstance(value, dict) or head not in value:
        return [(f"{path}.{head}".lstrip("."), None)]
    return _walk(value[head], rest, f"{path}.{head}".lstrip("."))


def figures(results: dict[str, Any]) -> dict[str, Any]:
    """Every required figure by its concrete path (``None`` where missing)."""
    found: dict[str, Any] = {}
    for pattern in FIGURES:
        for path, value in _walk(results, pattern.split("."), ""):
            found[path] = value
    return found


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def missing_figures(results: dict[str, Any]) -> list[str]:
    """Paths of required figures that are absent or not a finite number."""
    return [path for path, value in figures(results).items() if not is_number(value)]


def _get(results: dict[str, Any], path: str) -> Any:
    value: Any = results
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


# name, path, comparison, bound, unit
TARGETS: tuple[tuple[str, str, str, float, str], ...] = (
    (
        "HTTP command throughput / bare library (peak vs peak)",
        "command_path.peak.http_over_library",
        ">=",
        0.6,
        "x",
    ),
    (
        "HTTP p99 at half the peak throughput (open loop)",
        "command_path.half_peak.latency.p99_ms",
        "<=",
        50.0,
        "ms",
    ),
    ("projection lag p99 at half the peak", "projection_lag.half_peak.p99_ms", "<=", 250.0, "ms"),
    ("projection lag p99 at the peak", "projection_lag.peak.p99_ms", "<=", 250.0, "ms"),
    ("rebuild / raw read", "rebuild.rebuild_over_raw", ">=", 0.5, "x"),
    (
        "board statistics p99, a board's monthly cells",
        "board_statistics.board_monthly.p99_ms",
        "<=",
        20.0,
        "ms",
    ),
    (
        "board statistics p99, a board's totals",
        "board_statistics.board_totals.p99_ms",
        "<=",
        20.0,
        "ms",
    ),
    ("board statistics p99, all schools", "board_statistics.all_schools.p99_ms", "<=", 100.0, "ms"),
    ("audit replay as-of p99, over HTTP", "audit_replay.http.p99_ms", "<=", 20.0, "ms"),
    (
        "audit replay as-of p99, CaseReplay in-process",
        "audit_replay.service.p99_ms",
        "<=",
        20.0,
        "ms",
    ),
    ("web peak resident memory", "tenant_scale.processes.web.peak_rss_mb", "<=", 300.0, "MB"),
    ("worker peak resident memory", "tenant_scale.processes.worker.peak_rss_mb", "<=", 300.0, "MB"),
    (
        "web connections (max sampled) within its pools",
        "tenant_scale.connections_over_bound.web",
        "<=",
        1.0,
        "x",
    ),
    (
        "worker connections (max sampled) within its pool",
        "tenant_scale.connections_over_bound.worker",
        "<=",
        1.0,
        "x",
    ),
)


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    checks = []
    for name, path, op, bound, unit in TARGETS:
        value = _get(results, path)
        met = None
        if is_number(value):
            met = value >= bound if op == ">=" else value <= bound
        checks.append(
            {
                "target": name,
                "path": path,
                "value": value,
                "bound": f"{op} {bound:g}",
                "unit": unit,
                "met": met,
            }
        )
    return checks


def _n(value: Any, digits: int = 0) -> str:
    if not is_number(value):
        return "-"
    return f"{value:,.{digits}f}"


def _ms(lat: dict[str, Any] | None) -> str:
    if not lat:
        return "-"
    return f"{_n(lat.get('p50_ms'), 1)} / {_n(lat.get('p99_ms'), 1)}"


def render(results: dict[str, Any]) -> str:
    """The human-readable table (also printed at the end of a run)."""
    lines: list[str] = []
    out: Callable[[str], None] = lines.append
    m, db = results.get("machine", {}), results.get("database", {})
    out(
        f"Vangnet benchmark ({results.get('mode')}) {m.get('date_utc', '')}: "
        f"{m.get('cpus')} x {m.get('cpu_model')}, {m.get('memory_gb')} GB, load at start "
        f"{m.get('load_average_at_start')}"
    )
    out(
        f"PostgreSQL {db.get('server_version')} ({'embedded' if db.get('embedded') else 'server'}"
        f"; fsync {db.get('fsync')}, synchronous_commit {db.get('synchronous_commit')}, "
        f"shared_buffers {db.get('shared_buffers')}, max_connections "
        f"{db.get('max_connections')}); {results.get('topology', {}).get('description', '')}"
    )
    cp = results.get("command_path", {})
    out("")
    out(
        f"1. Command path: add-note on a random case of {cp.get('schools')} schools "
        "(ops/s, p50 / p99 ms)"
    )
    out(
        f"   {'clients':>7}  {'HTTP':>22}  {'bare library':>22}  {'pgbench insert':>24}  "
        f"{'HTTP/bare':>9}  {'HTTP/pgbench':>12}"
    )
    for level in cp.get("levels", []):
        h, b, p = level.get("http", {}), level.get("library", {}), level.get("pgbench", {})
        out(
            f"   {level.get('concurrency'):>7}  "
            f"{_n(h.get('throughput_per_s')):>7} {_ms(h.get('latency')):>14}  "
            f"{_n(b.get('throughput_per_s')):>7} {_ms(b.get('latency')):>14}  "
            f"{_n(p.get('throughput_per_s')):>8} {_ms(p.get('latency')):>15}  "
            f"{_n(level.get('http_over_library'), 2):>9}  "
            f"{_n(level.get('http_over_pgbench'), 3):>12}"
        )
    peak = cp.get("peak", {})
    out(
        f"   peak: HTTP {_n(peak.get('http', {}).get('throughput_per_s'))}/s "
        f"(c={peak.get('http', {}).get('concurrency')}), bare library "
        f"{_n(peak.get('library', {}).get('throughput_per_s'))}/s "
        f"(c={peak.get('library', {}).get('concurrency')}), pgbench "
        f"{_n(peak.get('pgbench', {}).get('throughput_per_s'))}/s; HTTP/bare "
        f"{_n(peak.get('http_over_library'), 2)}"
    )
    half = cp.get("half_peak", {})
    out(
        f"   open loop at half the HTTP peak ({_n(half.get('target_rate_per_s'))}/s offered, "
        f"{_n(half.get('throughput_per_s'))}/s done): p50 / p99 {_ms(half.get('latency'))} ms, "
        f"errors {half.get('errors')}"
    )
    seed = cp.get("seed", {})
    out(
        f"   (set-up: {seed.get('cases')} reports over HTTP at {_n(seed.get('throughput_per_s'))}"
        f"/s, p50 / p99 {_ms(seed.get('latency'))} ms)"
    )
    lag = results.get("projection_lag", {})
    out("")
    out(
        "2. Projection lag, commit -> visible in the case view (p50 / p99 ms; upper bound from "
        "the request's start in brackets)"
    )
    for item in lag.get("per_level", []):
        out(
            f"   c={item.get('concurrency'):<4} {_ms(item.get('lag')):>16}   "
            f"[{_ms(item.get('lag_from_send'))}]  samples {item.get('lag', {}).get('n')}, "
            f"timeouts {item.get('timeouts')}; web/worker busy "
            f"{_n(item.get('busy_after_load_s'), 1)} s after the load stopped"
        )
    out(
        f"   half peak {_ms(lag.get('half_peak')):>12}   [{_ms(lag.get('half_peak_from_send'))}]"
        f"  samples {lag.get('half_peak', {}).get('n')}; web/worker busy "
        f"{_n(lag.get('half_peak_busy_after_load_s'), 1)} s after the load stopped"
    )
    rb = results.get("rebuild", {})
    out("")
    out(
        f"3. Rebuild of every view: {_n(rb.get('events'))} events, {rb.get('schools')} schools: "
        f"{_n(rb.get('rebuild_events_per_s'))} events/s; raw read "
        f"{_n(rb.get('raw_rows_per_s'))} rows/s; read + decrypt + decode "
        f"{_n(rb.get('decode_events_per_s'))} events/s; rebuild/raw "
        f"{_n(rb.get('rebuild_over_raw'), 3)}"
    )
    big = rb.get("largest_school", {})
    out(
        f"   the largest school alone ({_n(big.get('events'))} events): rebuild "
        f"{_n(big.get('rebuild_events_per_s'))} events/s, raw read "
        f"{_n(big.get('raw_rows_per_s'))} rows/s"
    )
    per_view = rb.get("per_view_events_per_s", {})
    if per_view:
        out(
            "   one view at a time (events/s): "
            + ", ".join(f"{name} {_n(rate)}" for name, rate in per_view.items())
        )
    bs = results.get("board_statistics", {})
    out("")
    out(
        f"4. Board statistics, {bs.get('schools')} schools x {bs.get('cases_per_school')} cases "
        f"({_n(bs.get('rows'))} rows), last 12 months (p50 / p99 ms): a board of "
        f"{bs.get('board_size')}: monthly {_ms(bs.get('board_monthly'))}, totals "
        f"{_ms(bs.get('board_totals'))}; all schools {_ms(bs.get('all_schools'))}"
    )
    au = results.get("audit_replay", {})
    out("")
    out(
        f"5. Audit replay, a {au.get('events')}-event case as of a random moment (p50 / p99 ms): "
        f"over HTTP {_ms(au.get('http'))}; CaseReplay.state_as_of {_ms(au.get('service'))}; "
        f"references: one pass over the log {_ms(au.get('from_log'))}, version from the "
        f"timeline + repository.get {_ms(au.get('via_timeline'))}"
    )
    ts = results.get("tenant_scale", {})
    out("")
    out(
        f"6. Tenant scale: {ts.get('schools')} schools ({_n(ts.get('database_mb'))} MB, "
        f"{_n(ts.get('relations'))} relations), each sent one report"
    )
    for name, mem in ts.get("processes", {}).items():
        out(
            f"   {name}: resident {_n(mem.get('rss_mb'))} MB now, {_n(mem.get('peak_rss_mb'))} MB "
            f"peak; connections {ts.get('connections_now', {}).get(name)} now, "
            f"{ts.get('connections_max', {}).get(name)} max (bound "
            f"{ts.get('pool_bound', {}).get(name)})"
        )
    out("")
    out("Targets (issues #6 and #13; they apply to the full run):")
    for check in results.get("targets", []):
        verdict = {True: "met", False: "MISSED", None: "no figure"}[check["met"]]
        out(
            f"   {verdict:>9}  {check['target']}: {_n(check['value'], 2)} {check['unit']} "
            f"(target {check['bound']})"
        )
    missing = results.get("missing_figures") or []
    if missing:
        out(f"MISSING FIGURES: {', '.join(missing)}")
    out(f"Run took {_n(results.get('duration_s'))} s.")
    return "\n".join(lines)
