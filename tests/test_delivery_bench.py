"""`signpost bench delivery` into any SMTP server and into Postfix's smtp-sink, with smtp-source as the anchor."""

from __future__ import annotations

import pytest

from signpost.bench.delivery import format_delivery_table, run_delivery_bench
from signpost.bench.postfix import postfix_tool


def test_the_bench_sends_into_the_smtp_server_it_is_given(smtp):
    inbox, port = smtp
    result = run_delivery_bench(120, connections=3, smtp=f"127.0.0.1:{port}")
    assert result["emails"] == result["sent"] == 120 and result["failed"] == result["pending"] == 0
    received = inbox.by_recipient()
    signpost_copies = {rcpt: count for rcpt, count in received.items() if rcpt != "member@example.net"}
    assert len(signpost_copies) == 120 and set(signpost_copies.values()) == {1}  # each member once
    if postfix_tool("smtp-source"):
        assert result["smtp_source"]["messages"] == 120 and received["member@example.net"] == 120
    assert f"127.0.0.1:{port}" in format_delivery_table(result)


def test_the_bench_against_postfix_smtp_sink_with_smtp_source_beside_it():
    if not (postfix_tool("smtp-sink") and postfix_tool("smtp-source")):
        pytest.skip("Postfix's smtp-sink and smtp-source are not installed (Debian: apt-get install postfix)")
    result = run_delivery_bench(300, connections=4, postfix=True)
    assert result["sent"] == result["received"] == 300 and result["pending"] == 0
    anchor = result["smtp_source"]
    assert anchor["returncode"] == 0 and anchor["messages"] == 300 and anchor["emails_per_second"] > 0
    assert abs(int(anchor["command"].split(" -l ")[1].split()[0]) - result["average_email_bytes"]) <= 1
    table = format_delivery_table(result)
    assert "Postfix smtp-sink" in table and "anchor, same run: smtp-source -d -s 4" in table
