"""`wand validate`: every error with file:line, non-zero exit; the examples pass."""

from pathlib import Path

from wand.cli import main

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(str(p) for p in (REPO / "etc" / "lab").rglob("wanpipe*.yaml"))


def test_examples_validate(capsys):
    assert len(EXAMPLES) >= 6
    for group in (["siteA"], ["siteB"], ["switched/siteA"], ["switched/siteB"], ["switched/carrier"]):
        files = [p for p in EXAMPLES if any(f"/lab/{g}/" in p for g in group)]
        assert main(["validate", *files]) == 0
    assert "wanpipe1 OK" in capsys.readouterr().out


def test_all_errors_reported_with_position(tmp_path, capsys):
    bad = tmp_path / "wanpipe1.yaml"
    text = (REPO / "etc/lab/siteA/wanpipe1.yaml").read_text()
    text = (
        text.replace("{dlci: 16,", "{dlci: 5,").replace("t391: 10", "t391: 0").replace("type: t1", "type: t3")
    )
    bad.write_text(text)
    assert main(["validate", str(bad)]) == 1
    err = capsys.readouterr().err
    for key in ("line.type", "protocol.t391", "protocol.dlcis[0].dlci"):
        assert f"{bad}:" in err and key in err, err
    assert "NOT valid" in err


def test_directory_means_its_wanpipe_files(capsys):
    assert main(["validate", str(REPO / "etc/lab/switched/carrier")]) == 0
    out = capsys.readouterr().out
    assert "wanpipe1 OK" in out and "wanpipe2 OK" in out


def test_empty_directory_is_an_error(tmp_path, capsys):
    assert main(["validate", str(tmp_path)]) == 1
    assert "no wanpipe*.yaml" in capsys.readouterr().err


def test_two_lines_cannot_share_one_cable_end(tmp_path, capsys):
    text = (REPO / "etc/lab/siteA/wanpipe1.yaml").read_text()
    (tmp_path / "wanpipe1.yaml").write_text(text)
    second = text.replace("device: wanpipe1", "device: wanpipe2").replace("port: 1", "port: 2")
    second = second.replace("name: wp1_fr16", "name: wp2_fr16")
    (tmp_path / "wanpipe2.yaml").write_text(second)
    assert main(["validate", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "wanpipe2.yaml" in err and "transport.local" in err and "already used by wanpipe1" in err
