#!/usr/bin/env python3
"""Generates the smppguard Grafana dashboards (deploy/grafana/dashboards/*.json).

The JSON files are committed; this script is their source. After editing it, run
`python3 deploy/grafana/dashboards.py` and commit both. A test regenerates them and
fails when the committed files differ, and checks that every metric they query exists
in a real /metrics scrape and that every panel has a description.

Standard library only.
"""

import json
import os
import sys

DS = {"type": "prometheus", "uid": "${ds}"}
SEL = 'job=~"$job", instance=~"$instance"'
RATE = "$__rate_interval"
BLOCKED = 'outcome=~"rejected|quarantined|dropped"'


class Board:
    def __init__(self, uid, title, description, tags):
        self.uid, self.title, self.description, self.tags = uid, title, description, tags
        self.panels = []
        self.y = 0
        self.x = 0
        self.row_h = 0
        self.next_id = 1
        self.variables = []

    def _id(self):
        i = self.next_id
        self.next_id += 1
        return i

    def row(self, title):
        self._newline()
        self.panels.append({
            "type": "row", "id": self._id(), "title": title, "collapsed": False,
            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y}, "panels": [],
        })
        self.y += 1

    def _newline(self):
        if self.x:
            self.y += self.row_h
            self.x = 0
            self.row_h = 0

    def _place(self, w, h):
        if self.x + w > 24:
            self._newline()
        pos = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.x += w
        self.row_h = max(self.row_h, h)
        return pos

    def panel(self, kind, title, description, targets, w=8, h=8, unit=None,
              stack=False, extra=None, options=None, mappings=None, thresholds=None,
              min_=None, max_=None):
        assert description, title
        defaults = {}
        if unit:
            defaults["unit"] = unit
        if min_ is not None:
            defaults["min"] = min_
        if max_ is not None:
            defaults["max"] = max_
        if mappings:
            defaults["mappings"] = mappings
        if thresholds:
            defaults["thresholds"] = {"mode": "absolute", "steps": thresholds}
        if kind == "timeseries":
            defaults["custom"] = {
                "drawStyle": "line", "lineWidth": 1, "fillOpacity": 20 if stack else 0,
                "stacking": {"mode": "normal" if stack else "none"},
                "showPoints": "never",
            }
        p = {
            "type": kind, "id": self._id(), "title": title, "description": description,
            "datasource": DS, "gridPos": self._place(w, h),
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "targets": [dict(t, refId=chr(ord("A") + i), datasource=DS)
                        for i, t in enumerate(targets)],
        }
        if options:
            p["options"] = options
        if extra:
            p.update(extra)
        self.panels.append(p)

    def var_query(self, name, label, query, multi=True, include_all=True, regex=""):
        self.variables.append({
            "type": "query", "name": name, "label": label, "datasource": DS,
            "query": {"query": query, "refId": name}, "definition": query,
            "refresh": 2, "multi": multi, "includeAll": include_all,
            "allValue": ".*" if include_all else None, "regex": regex, "sort": 1,
            "current": {},
        })

    def json(self):
        return {
            "uid": self.uid, "title": self.title, "description": self.description,
            "tags": self.tags, "editable": True, "graphTooltip": 1,
            "schemaVersion": 39, "version": 1, "refresh": "30s",
            "time": {"from": "now-6h", "to": "now"},
            "timepicker": {}, "fiscalYearStartMonth": 0, "liveNow": False,
            "annotations": {"list": [{
                "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
                "name": "Annotations & Alerts", "type": "dashboard",
            }]},
            "links": [
                {"title": "smppguard fleet", "type": "link", "url": "/d/smppguard-fleet/smppguard-fleet", "keepTime": True, "includeVars": False, "targetBlank": False, "icon": "dashboard", "tags": [], "asDropdown": False, "tooltip": ""},
                {"title": "account drill-down", "type": "link", "url": "/d/smppguard-account/smppguard-account", "keepTime": True, "includeVars": False, "targetBlank": False, "icon": "dashboard", "tags": [], "asDropdown": False, "tooltip": ""},
                {"title": "filter", "type": "link", "url": "/d/smppguard-filter/smppguard-filter", "keepTime": True, "includeVars": False, "targetBlank": False, "icon": "dashboard", "tags": [], "asDropdown": False, "tooltip": ""},
            ],
            "templating": {"list": [{
                "type": "datasource", "name": "ds", "label": "Data source",
                "query": "prometheus", "current": {}, "hide": 0, "refresh": 1,
                "regex": "", "options": [],
            }] + self.variables},
            "panels": self.panels,
        }


def q(expr, legend=""):
    return {"expr": expr, "legendFormat": legend, "range": True}


def inst(expr, legend=""):
    return {"expr": expr, "legendFormat": legend, "instant": True, "range": False,
            "format": "table"}


OK_MAP = [{"type": "value", "options": {
    "0": {"text": "Not OK", "color": "red", "index": 0},
    "1": {"text": "OK", "color": "green", "index": 1}}}]
RED_ABOVE_0 = [{"color": "green", "value": None}, {"color": "red", "value": 1}]


def fleet():
    b = Board("smppguard-fleet", "smppguard fleet",
              "smppguard instances at a glance: traffic and its outcomes, block and "
              "throttle rates, latency, upstream health, reloads. For smppguard 0.1 and "
              "later, Prometheus 2.42 and Grafana 10.",
              ["smppguard"])
    b.var_query("job", "Job", "label_values(smppguard_build_info, job)")
    b.var_query("instance", "Instance",
                'label_values(smppguard_build_info{job=~"$job"}, instance)')

    b.row("Stats")
    b.panel("stat", "Requests/s",
            "Submit-type requests received per second over the selected instances.",
            [q(f"sum(rate(smppguard_requests_received_total{{{SEL}}}[{RATE}]))")],
            w=4, h=4, unit="reqps")
    b.panel("stat", "Blocked",
            "Share of requests blocked by content rules (rejected, quarantined, dropped).",
            [q(f"sum(rate(smppguard_requests_total{{{SEL}, {BLOCKED}}}[{RATE}])) / "
               f"sum(rate(smppguard_requests_received_total{{{SEL}}}[{RATE}]))")],
            w=4, h=4, unit="percentunit")
    b.panel("stat", "Throttled",
            "Share of requests answered throttled: an ESME window, a hold bound or a rate limit was exceeded.",
            [q(f'sum(rate(smppguard_requests_total{{{SEL}, outcome="throttled"}}[{RATE}])) / '
               f"sum(rate(smppguard_requests_received_total{{{SEL}}}[{RATE}]))")],
            w=4, h=4, unit="percentunit")
    b.panel("stat", "Unintentional drops (1h)",
            "Messages lost without a rule deciding it, over the last hour. Must be 0; any other value pages (SmppguardUnintentionalDrops).",
            [q(f"sum(increase(smppguard_unintentional_drops_total{{{SEL}}}[1h])) or vector(0)")],
            w=4, h=4, thresholds=RED_ABOVE_0)
    b.panel("stat", "Upstreams up",
            "Upstream SMSCs with at least one bound session, over those configured.",
            [q(f"sum(smppguard_upstream_up{{{SEL}}})", "up"),
             q(f"count(smppguard_upstream_up{{{SEL}}})", "configured")],
            w=4, h=4)
    b.panel("stat", "Config reload",
            "Whether the last configuration reload of every selected instance succeeded (vmauth style: Not OK as soon as one refused its reload).",
            [q(f"min(smppguard_config_last_reload_successful{{{SEL}}})")],
            w=4, h=4, mappings=OK_MAP)
    b.panel("table", "Versions",
            "Build version and live ruleset version of each instance: after a rollout or a rule release they should all agree.",
            [inst(f"smppguard_build_info{{{SEL}}}"), inst(f"smppguard_ruleset_info{{{SEL}}}")],
            w=12, h=6,
            extra={"transformations": [
                {"id": "merge", "options": {}},
                {"id": "organize", "options": {"excludeByName": {"Time": True, "Value #A": True, "Value #B": True, "__name__": True}}}]})
    b.panel("stat", "Ready instances",
            "Instances ready to take traffic (rules loaded, an upstream bound, not draining) over those scraped.",
            [q(f"sum(smppguard_ready{{{SEL}}})", "ready"), q(f"count(smppguard_ready{{{SEL}}})", "scraped")],
            w=6, h=6)
    b.panel("stat", "Requests outstanding",
            "Requests admitted and not yet answered: held multi-part parts, queued or at an SMSC.",
            [q(f"sum(smppguard_requests_outstanding{{{SEL}}})")], w=6, h=6)

    b.row("Traffic")
    b.panel("timeseries", "Requests by outcome",
            "How requests were answered, per second. accepted and smsc_error come from the SMSC; rejected, quarantined and dropped from content rules; the rest from the proxy (throttled, no_upstream, timeout, ...).",
            [q(f"sum by (outcome) (rate(smppguard_requests_total{{{SEL}}}[{RATE}]))", "{{outcome}}")],
            w=12, unit="reqps", stack=True)
    b.panel("timeseries", "Top 10 accounts by traffic",
            "The ten accounts sending the most requests; open the account drill-down for one of them.",
            [q(f"topk(10, sum by (account) (rate(smppguard_account_requests_received_total{{{SEL}}}[{RATE}])))", "{{account}}")],
            w=12, unit="reqps")
    b.panel("timeseries", "Top 10 accounts by block ratio",
            "Share of each account's requests blocked by content rules, among accounts sending more than 0.1 message/s: a scam wave shows here first (SmppguardAccountBlockRatioSpike).",
            [q(f"topk(10, sum by (account) (rate(smppguard_account_requests_total{{{SEL}, {BLOCKED}}}[{RATE}])) / "
               f"(sum by (account) (rate(smppguard_account_requests_received_total{{{SEL}}}[{RATE}])) > 0.1))", "{{account}}")],
            w=12, unit="percentunit", min_=0, max_=1)
    b.panel("timeseries", "Throttled and refused",
            "Requests the proxy answered itself without forwarding, by reason, per second.",
            [q(f'sum by (outcome) (rate(smppguard_requests_total{{{SEL}, outcome=~"throttled|suspended|no_upstream|draining|invalid|incomplete"}}[{RATE}]))', "{{outcome}}")],
            w=12, unit="reqps", stack=True)

    b.row("Latency")
    for name, title, desc in [
        ("smppguard_proxy_added_latency_seconds", "Added latency (single-part)",
         "Time from a request's arrival to its forwarding to the SMSC, p50 and p99 by upstream: the latency the proxy adds (SmppguardAddedLatencyHigh above 5 ms p99)."),
        ("smppguard_upstream_response_duration_seconds", "SMSC response time",
         "Time from forwarding to the SMSC's response, p50 and p99 by upstream."),
        ("smppguard_end_to_end_duration_seconds", "End-to-end response time",
         "Time from a request's arrival to the SMSC's response relayed to the ESME, p50 and p99 by upstream."),
    ]:
        extra_sel = ', message="single"' if "added" in name else ""
        b.panel("timeseries", title, desc,
                [q(f"histogram_quantile(0.5, sum by (upstream, le) (rate({name}_bucket{{{SEL}{extra_sel}}}[{RATE}])))", "p50 {{upstream}}"),
                 q(f"histogram_quantile(0.99, sum by (upstream, le) (rate({name}_bucket{{{SEL}{extra_sel}}}[{RATE}])))", "p99 {{upstream}}")],
                w=8, unit="s")

    b.row("Upstreams")
    b.panel("state-timeline", "Upstream up",
            "1 while at least one session to the SMSC is bound, per instance and upstream (SmppguardUpstreamDown).",
            [q(f"smppguard_upstream_up{{{SEL}}}", "{{instance}} {{upstream}}")],
            w=12, mappings=OK_MAP)
    b.panel("timeseries", "Window in use",
            "Requests outstanding at each SMSC over sessions x window (SmppguardUpstreamWindowSaturated above 90%).",
            [q(f"smppguard_upstream_window_in_use{{{SEL}}} / (smppguard_upstream_window_size{{{SEL}}} > 0)", "{{instance}} {{upstream}}")],
            w=12, unit="percentunit", min_=0, max_=1)
    b.panel("timeseries", "Binds and disconnects",
            "Connect-and-bind attempts by result and bound sessions lost, per second, by upstream: reconnect storms show here.",
            [q(f"sum by (upstream, result) (rate(smppguard_upstream_binds_total{{{SEL}}}[{RATE}]))", "bind {{result}} {{upstream}}"),
             q(f"sum by (upstream) (rate(smppguard_upstream_disconnects_total{{{SEL}}}[{RATE}]))", "lost {{upstream}}")],
            w=12, unit="ops")
    b.panel("timeseries", "Sessions bound",
            "Sessions bound to each SMSC against those configured.",
            [q(f"sum by (upstream) (smppguard_upstream_sessions_bound{{{SEL}}})", "bound {{upstream}}"),
             q(f"sum by (upstream) (smppguard_upstream_sessions_configured{{{SEL}}})", "configured {{upstream}}")],
            w=12)

    b.row("Proxy")
    b.panel("timeseries", "Multi-part hold",
            "Bytes and messages held waiting for their other parts, as a share of hold.max_bytes and hold.max_messages (SmppguardHoldBufferNearBound above 80%).",
            [q(f"smppguard_hold_bytes{{{SEL}}} / (smppguard_hold_max_bytes{{{SEL}}} > 0)", "bytes {{instance}}"),
             q(f"smppguard_hold_messages{{{SEL}}} / (smppguard_hold_max_messages{{{SEL}}} > 0)", "messages {{instance}}")],
            w=8, unit="percentunit", min_=0, max_=1)
    b.panel("timeseries", "ESME connections and binds",
            "Open ESME connections, and binds per second by result.",
            [q(f"sum(smppguard_downstream_connections{{{SEL}}})", "open connections"),
             q(f"sum by (result) (rate(smppguard_downstream_binds_total{{{SEL}}}[{RATE}]))", "binds {{result}}/s")],
            w=8)
    b.panel("timeseries", "Rate-limit backend",
            "State of the rate-limit backend per instance: local, redis (fleet-wide, healthy) or degraded (SmppguardRedisDegraded).",
            [q(f'smppguard_limits_backend_state{{{SEL}}} == 1', "{{instance}} {{state}}")],
            w=8)
    b.panel("timeseries", "Audit log",
            "Audit records written and dropped per second, and the age of the oldest record of the last batch written (write lag).",
            [q(f"sum by (result) (rate(smppguard_audit_records_total{{{SEL}}}[{RATE}]))", "{{result}}/s"),
             q(f"max(smppguard_audit_write_lag_seconds{{{SEL}}})", "lag (s)")],
            w=8)
    b.panel("timeseries", "Quarantine",
            "Quarantined messages kept for review, and releases, deletions and evictions per second.",
            [q(f"sum(smppguard_quarantine_messages{{{SEL}}})", "kept"),
             q(f"sum by (action) (rate(smppguard_quarantine_actions_total{{{SEL}}}[{RATE}]))", "{{action}}/s")],
            w=8)
    b.panel("timeseries", "Receipts and MO",
            "Receipts and MO messages from SMSCs per second by kind and result, and those answered 'retry later'.",
            [q(f"sum by (kind, result) (rate(smppguard_delivers_total{{{SEL}}}[{RATE}]))", "{{kind}} {{result}}"),
             q(f"sum by (reason) (rate(smppguard_delivers_failed_total{{{SEL}}}[{RATE}]))", "retry later: {{reason}}")],
            w=8, unit="ops")

    b.row("Reloads")
    b.panel("timeseries", "Reloads",
            "Configuration reloads by result (SIGHUP, POST /reload).",
            [q(f"sum by (result) (increase(smppguard_config_reloads_total{{{SEL}}}[{RATE}]))", "{{result}}")],
            w=12)
    b.panel("table", "Last successful reload",
            "Time of the last successful load or reload of each instance, and whether the last attempt succeeded.",
            [inst(f"smppguard_config_last_reload_success_timestamp_seconds{{{SEL}}} * 1000"),
             inst(f"smppguard_config_last_reload_successful{{{SEL}}}")],
            w=12,
            extra={"transformations": [{"id": "merge", "options": {}}]})

    b.row("Limits")
    b.panel("timeseries", "Messages refused by limit",
            "Messages refused per second by each limit (account_rate, daily_messages, destination_rate, suspended, ...), and those a monitor-mode limit would have refused.",
            [q(f"sum by (limit) (rate(smppguard_limits_denied_total{{{SEL}}}[{RATE}]))", "{{limit}}"),
             q(f"sum by (limit) (rate(smppguard_limits_monitored_total{{{SEL}}}[{RATE}]))", "monitor {{limit}}")],
            w=8, unit="ops")
    b.panel("timeseries", "Restricted accounts",
            "Accounts throttled or suspended by adaptive protection now; GET /accounts lists them with the reason and POST /accounts/{id}/resume releases one.",
            [q(f"sum by (kind) (smppguard_limits_restricted_accounts{{{SEL}}})", "{{kind}}")],
            w=8)
    b.panel("timeseries", "Redis syncs",
            "Lease refills and usage reports sent to Redis per second by result (failures mark the backend degraded), and messages allowed on local limits while degraded.",
            [q(f"sum by (result) (rate(smppguard_limits_redis_syncs_total{{{SEL}}}[{RATE}]))", "{{result}}"),
             q(f"sum(rate(smppguard_limits_degraded_allowed_total{{{SEL}}}[{RATE}]))", "allowed while degraded")],
            w=8, unit="ops")
    return b


def account():
    b = Board("smppguard-account", "smppguard account",
              "One ESME account: its traffic by outcome, the rule categories it triggers, "
              "its sessions, window and suspension. Pick the account in the variable.",
              ["smppguard"])
    b.var_query("instance", "Instance", "label_values(smppguard_build_info, instance)")
    b.var_query("account", "Account",
                'label_values(smppguard_account_requests_received_total{instance=~"$instance"}, account)',
                multi=False, include_all=False)
    sel = 'instance=~"$instance", account="$account"'

    b.row("Stats")
    b.panel("stat", "Requests/s", "Requests the account sends per second.",
            [q(f"sum(rate(smppguard_account_requests_received_total{{{sel}}}[{RATE}]))")],
            w=4, h=4, unit="reqps")
    b.panel("stat", "Blocked", "Share of the account's requests blocked by content rules.",
            [q(f"sum(rate(smppguard_account_requests_total{{{sel}, {BLOCKED}}}[{RATE}])) / "
               f"sum(rate(smppguard_account_requests_received_total{{{sel}}}[{RATE}]))")],
            w=4, h=4, unit="percentunit")
    b.panel("stat", "Throttled/s", "Requests of the account answered throttled per second (window, hold bound or rate limit).",
            [q(f'sum(rate(smppguard_account_requests_total{{{sel}, outcome="throttled"}}[{RATE}])) or vector(0)')],
            w=4, h=4, unit="reqps")
    b.panel("stat", "Suspended", "Whether the account is suspended through the admin API (POST /accounts/{id}/suspend).",
            [q(f"max(smppguard_account_suspended{{{sel}}})")],
            w=4, h=4, mappings=[{"type": "value", "options": {
                "0": {"text": "active", "color": "green", "index": 0},
                "1": {"text": "SUSPENDED", "color": "red", "index": 1}}}])
    b.panel("stat", "Sessions bound", "ESME sessions the account has bound now, all bind types.",
            [q(f"sum(smppguard_account_sessions{{{sel}}})")], w=4, h=4)
    b.panel("stat", "Window in use", "Requests outstanding over the account's sessions, against its window per session.",
            [q(f"sum(smppguard_account_window_in_use{{{sel}}})", "in use"),
             q(f"max(smppguard_account_window_limit{{{sel}}})", "per session")], w=4, h=4)

    b.row("Traffic")
    b.panel("timeseries", "Requests by outcome",
            "How the account's requests were answered, per second.",
            [q(f"sum by (outcome) (rate(smppguard_account_requests_total{{{sel}}}[{RATE}]))", "{{outcome}}")],
            w=12, unit="reqps", stack=True)
    b.panel("timeseries", "Messages, parts and bytes",
            "Whole messages and their parts inspected per second (a three-part message is one message and three parts), and bytes received.",
            [q(f"sum(rate(smppguard_account_messages_total{{{sel}}}[{RATE}]))", "messages/s"),
             q(f"sum(rate(smppguard_account_message_parts_total{{{sel}}}[{RATE}]))", "parts/s"),
             q(f"sum(rate(smppguard_account_received_bytes_total{{{sel}}}[{RATE}]))", "bytes/s")],
            w=12)
    b.panel("bargauge", "Top rule categories",
            "Content rule matches of the account by rule category over the time range: what kind of scam or spam it sends.",
            [inst(f"sort_desc(topk(10, sum by (category) (increase(smppguard_account_filter_matches_total{{{sel}}}[$__range]))))", "{{category}}")],
            w=12, options={"orientation": "horizontal", "displayMode": "gradient",
                           "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}})
    b.panel("timeseries", "Rule matches by category",
            "Content rule matches of the account per second, by category.",
            [q(f"sum by (category) (rate(smppguard_account_filter_matches_total{{{sel}}}[{RATE}]))", "{{category}}")],
            w=12, unit="ops", stack=True)

    b.row("Limits and sessions")
    b.panel("timeseries", "Sessions by bind type",
            "Bound sessions by bind type; the account's max_binds bounds their sum.",
            [q(f"sum by (bind_type) (smppguard_account_sessions{{{sel}}})", "{{bind_type}}")],
            w=8, stack=True)
    b.panel("timeseries", "Window", "Requests outstanding against the configured window per session.",
            [q(f"sum(smppguard_account_window_in_use{{{sel}}})", "in use"),
             q(f"max(smppguard_account_window_limit{{{sel}}})", "window per session")],
            w=8)
    b.panel("state-timeline", "Suspensions",
            "When the account was suspended through the admin API.",
            [q(f"max(smppguard_account_suspended{{{sel}}})", "suspended")],
            w=8, mappings=[{"type": "value", "options": {
                "0": {"text": "active", "color": "green", "index": 0},
                "1": {"text": "suspended", "color": "red", "index": 1}}}])
    b.panel("timeseries", "Receipts and MO relayed",
            "Delivery receipts and MO messages relayed to the account's sessions per second.",
            [q(f"sum by (kind) (rate(smppguard_account_delivers_total{{{sel}}}[{RATE}]))", "{{kind}}")],
            w=12, unit="ops")
    b.panel("timeseries", "Forwarded", "Requests of the account sent to an SMSC per second.",
            [q(f"sum(rate(smppguard_account_requests_forwarded_total{{{sel}}}[{RATE}]))", "forwarded")],
            w=12, unit="reqps")
    return b


def filter_board():
    b = Board("smppguard-filter", "smppguard filter",
              "The content filter: verdicts and matches by rule category, scan time, "
              "shadow-ruleset differences, live ruleset version and reloads.",
              ["smppguard"])
    b.var_query("instance", "Instance", "label_values(smppguard_build_info, instance)")
    sel = 'instance=~"$instance"'

    b.row("Verdicts")
    b.panel("timeseries", "Verdicts by action",
            "Messages scanned per second by the verdict's action (allow, monitor, tag, reject, drop, quarantine).",
            [q(f"sum by (action) (rate(smppguard_filter_verdicts_total{{{sel}}}[{RATE}]))", "{{action}}")],
            w=12, unit="ops", stack=True)
    b.panel("timeseries", "Matches by category",
            "Rule matches per second by rule category (every matched rule counts, also the ones that did not decide).",
            [q(f"sum by (category) (rate(smppguard_filter_matches_total{{{sel}}}[{RATE}]))", "{{category}}")],
            w=12, unit="ops", stack=True)
    b.panel("table", "Matches by category and action",
            "Rule matches over the time range by category and the rule's action.",
            [inst(f"sum by (category, action) (increase(smppguard_filter_matches_total{{{sel}}}[$__range])) > 0")],
            w=12)
    b.panel("timeseries", "Shadow ruleset differences",
            "Messages on which a shadow (candidate) ruleset decides differently from the live one, per second by the shadow's action, against messages scanned by it.",
            [q(f"sum by (shadow_action) (rate(smppguard_filter_shadow_differences_total{{{sel}}}[{RATE}]))", "differs: {{shadow_action}}"),
             q(f"sum(rate(smppguard_filter_shadow_evaluations_total{{{sel}}}[{RATE}]))", "scanned by shadow")],
            w=12, unit="ops")

    b.row("Scan")
    b.panel("timeseries", "Scan time",
            "Time to normalize and scan one whole message: p50, p99 and p99.9.",
            [q(f"histogram_quantile({p}, sum by (le) (rate(smppguard_filter_scan_duration_seconds_bucket{{{sel}}}[{RATE}])))", f"p{l}")
             for p, l in [("0.5", "50"), ("0.99", "99"), ("0.999", "99.9")]],
            w=12, unit="s")
    b.panel("timeseries", "Scan errors and MO blocked",
            "Scans that failed inside the engine (forwarded, fail open) and MO messages blocked, per second.",
            [q(f"sum(rate(smppguard_filter_scan_errors_total{{{sel}}}[{RATE}]))", "scan errors"),
             q(f'sum(rate(smppguard_delivers_total{{{sel}, kind="mo", result="blocked"}}[{RATE}]))', "MO blocked")],
            w=12, unit="ops")

    b.row("Rules")
    b.panel("table", "Live ruleset",
            "The ruleset version each instance runs: after a rule release they should all agree.",
            [inst(f"smppguard_ruleset_info{{{sel}}}")], w=12)
    b.panel("stat", "Last reload",
            "Whether the last configuration and rule reload succeeded on every selected instance.",
            [q(f"min(smppguard_config_last_reload_successful{{{sel}}})")], w=6, mappings=OK_MAP)
    b.panel("stat", "Reloads refused (24h)",
            "Reloads refused over the last day (a rule pack that does not compile, a bad file).",
            [q(f'sum(increase(smppguard_config_reloads_total{{{sel}, result="failed"}}[24h])) or vector(0)')],
            w=6, thresholds=RED_ABOVE_0)
    return b


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dashboards")
    if len(sys.argv) > 1:
        out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for b in (fleet(), account(), filter_board()):
        path = os.path.join(out, b.uid + ".json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(b.json(), f, indent=2, ensure_ascii=False)
            f.write("\n")


if __name__ == "__main__":
    main()
