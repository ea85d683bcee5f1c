"""Bundle layouts and damaged inputs seen in the field: node folders named by a bare host,
rotated logs, cut zstd streams, links, encrypted zips and archive formats not read."""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
from pathlib import Path

import pytest
import zstandard

from forensics import load_bundle
from forensics.bundle import Member, Skipped, iter_members


def _log(tag: str, lines: int = 200) -> bytes:
    """A tracelog whose content differs by ``tag`` (same content counts once)."""
    return b"".join(
        b"%08d 2026-04-10 03:%02d:%02d.000   INFO: Thread 115000: %s line %d\n"
        % (1000 + i, i // 60 % 60, i % 60, tag.encode(), i)
        for i in range(lines)
    )


def _items(path: Path) -> list[tuple[str, str]]:
    """(path, "read" or the skip reason) of every member, its content read."""
    out = []
    for item in iter_members([path]):
        if isinstance(item, Member):
            item.read_all()
            out.append((item.path, "read"))
        else:
            assert isinstance(item, Skipped)
            out.append((item.path, item.reason))
    return out


def _nodes(root: Path) -> list[str]:
    return sorted(load_bundle(root).nodes.get_column("node").to_list())


@pytest.mark.parametrize(
    "folder",
    [
        "{ip}/tracelogs",
        "{ip}",
        "db-{n}.corp.example",
        "sg-leaf-{n}",
        "sg-leaf-{n}/var/lib/memsql/0f1e2d3c-1111-4ef3-9fc4-00000000000{n}/tracelogs",
    ],
)
def test_host_folders_with_rotated_logs_are_one_node_each(tmp_path: Path, folder: str) -> None:
    for n in (1, 2):
        where = tmp_path / "bundle" / folder.format(ip=f"10.5.0.1{n}", n=n)
        where.mkdir(parents=True)
        (where / "memsql.log").write_bytes(_log(f"node {n} now"))
        (where / "memsql.log.1").write_bytes(_log(f"node {n} before"))
        (where / "memsql.log.2.gz").write_bytes(gzip.compress(_log(f"node {n} older")))
    nodes = _nodes(tmp_path)
    assert len(nodes) == 2, nodes
    assert all("/" not in n for n in nodes), nodes


def test_loose_rotated_logs_in_one_folder_are_one_node(tmp_path: Path) -> None:
    for i, name in enumerate(["memsql.log", "memsql.log.1", "memsql.log.2", "memsql.log.3.gz"]):
        data = _log(f"part {i}")
        (tmp_path / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    (tmp_path / "memsql.log-20260310.zst").write_bytes(
        zstandard.ZstdCompressor().compress(_log("dated"))
    )
    assert _nodes(tmp_path) == ["memsql.log"]


def _zstd_log() -> bytes:
    return zstandard.ZstdCompressor(write_content_size=False).compress(_log("zstd", 20000))


@pytest.mark.parametrize("cut", [0.5, 0.99, 30])
def test_a_cut_zstd_stream_is_reported_like_gzip(tmp_path: Path, cut: float) -> None:
    data = _zstd_log()
    path = tmp_path / "memsql.log.3.zst"
    path.write_bytes(data[: int(len(data) * cut) if cut < 1 else int(cut)])
    reasons = [reason for _, reason in _items(path)]
    assert any("truncated or corrupt compressed data" in r for r in reasons), reasons


def test_complete_zstd_frames_are_not_reported(tmp_path: Path) -> None:
    """Several frames, an empty one, a skippable frame, checksums: all complete."""
    zstd = zstandard.ZstdCompressor(write_checksum=True)
    skippable = b"\x50\x2a\x4d\x18" + (4).to_bytes(4, "little") + b"meta"
    data = _zstd_log() + zstd.compress(b"") + skippable + zstd.compress(_log("tail"))
    path = tmp_path / "memsql.log.zst"
    path.write_bytes(data)
    assert _items(path) == [("memsql.log.zst", "read")]


def test_a_link_named_on_the_command_line_is_followed(tmp_path: Path) -> None:
    (tmp_path / "real.log").write_bytes(_log("real"))
    (tmp_path / "link.log").symlink_to(tmp_path / "real.log")
    assert _items(tmp_path / "link.log") == [("link.log", "read")]


def test_a_folder_link_inside_a_bundle_is_listed_as_skipped(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "memsql.log").write_bytes(_log("elsewhere"))
    root = tmp_path / "b"
    root.mkdir()
    (root / "memsql.log").write_bytes(_log("here"))
    (root / "other").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    items = _items(root)
    assert items[0] == ("b/memsql.log", "read")
    assert items[1][0] == "b/other" and "link to a folder" in items[1][1], items
    assert len(items) == 2


def _encrypted_zip(names: list[str]) -> bytes:
    """A zip whose members carry the 'encrypted' flag (zipfile cannot write one)."""
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as zf:
        for name in names:
            zf.writestr(name, _log(name))
    data = bytearray(raw.getvalue())
    for magic, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = data.find(magic)
        while start >= 0:
            data[start + flag_at] |= 0x1
            start = data.find(magic, start + 4)
    return bytes(data)


def test_an_encrypted_zip_is_one_short_line(tmp_path: Path) -> None:
    path = tmp_path / "encrypted.zip"
    path.write_bytes(_encrypted_zip(["a/memsql.log", "b/memsql.log", "c/memsql.log"]))
    items = _items(path)
    assert items == [("encrypted.zip", "password-protected (encrypted) zip: not read")]


@pytest.mark.parametrize(
    "magic,kind", [(b"7z\xbc\xaf\x27\x1c\x00\x04", "7z"), (b"Rar!\x1a\x07\x01\x00", "rar")]
)
def test_7z_and_rar_are_named_not_called_binary(tmp_path: Path, magic: bytes, kind: str) -> None:
    path = tmp_path / "bundle.bin"  # recognised by content, not by name
    path.write_bytes(magic + bytes(range(256)) * 4)
    assert _items(path) == [
        ("bundle.bin", f"unsupported archive format ({kind}): extract it first")
    ]


def _cut_gzip(tmp_path: Path) -> Path:
    data = gzip.compress(_log("cut", 20000))
    path = tmp_path / "memsql.log.2.gz"
    path.write_bytes(data[: len(data) // 2])
    return path


def test_damage_of_a_read_member_is_marked_as_such(tmp_path: Path) -> None:
    """The reader tells the loader that a damage report is about the member it just
    read (a warning on that file), not a file of its own."""
    rest = []
    for item in iter_members([_cut_gzip(tmp_path)]):
        if isinstance(item, Member):
            item.read_all()
        rest.append(item)
    assert isinstance(rest[0], Member)
    damage = [i for i in rest if isinstance(i, Skipped)]
    assert len(damage) == 1 and damage[0].damaged_member
    assert damage[0].path == "memsql.log.2.gz"


def test_damage_of_an_archive_is_not_a_members(tmp_path: Path) -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for n in range(3):
            data = _log(f"member {n}", 3000)
            info = tarfile.TarInfo(f"n{n}/memsql.log")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    packed = gzip.compress(raw.getvalue())
    path = tmp_path / "cut.tar.gz"
    path.write_bytes(packed[: len(packed) * 2 // 3])
    damage = []
    for item in iter_members([path]):
        if isinstance(item, Member):
            item.read_all()
        else:
            damage.append(item)
    archive_damage = [d for d in damage if d.path == "cut.tar.gz"]
    assert archive_damage and not any(d.damaged_member for d in archive_damage)


def test_a_cut_gzip_log_is_one_file_row_with_a_warning(tmp_path: Path) -> None:
    loaded = load_bundle(_cut_gzip(tmp_path))
    rows = loaded.files.filter(loaded.files["path"] == "memsql.log.2.gz")
    assert rows.height == 1
    assert rows.item(0, "kind") == "memsql_log"
    assert any("truncated or corrupt compressed data" in w for w in loaded.warnings)


_MA_LOG = (
    "10000000 2026-03-10 14:02:11.318   INFO: Thread 115121 (ntid 121, conn id 28811): "
    "RebalancePartitions: starting REBALANCE PARTITIONS ON sales: 2 operations in 2 phases\n"
    "10400000 2026-03-10 14:02:11.718   INFO: Thread 115121 (ntid 121, conn id 28811): "
    "RebalanceStep: starting COPY PARTITION sales:5 TO '10.0.1.14':3306 (phase 3)\n"
    "190400000 2026-03-10 14:05:11.718  ERROR: Thread 115121 (ntid 121, conn id 28811): "
    "RebalanceStep: COPY PARTITION sales:5 TO '10.0.1.14':3306 failed: Leaf Error "
    "(10.0.1.14:3306): replica of partition sales:5 did not reach sync state\n"
    "191000000 2026-03-10 14:05:12.318  ERROR: Thread 115121 (ntid 121, conn id 28811): "
    "RebalancePartitions: REBALANCE PARTITIONS ON sales failed after 0 of 2 operations; "
    "1 cancelled\n"
)
_STATUS = (
    '{"columns":["Database","Action","Ordinal","Target_Host","Target_Port","Phase","Status"],'
    '"rows":[{"Database":"sales","Action":"COPY PARTITION","Ordinal":5,'
    '"Target_Host":"10.0.1.14","Target_Port":3306,"Phase":3,"Status":"failed"}]}'
)


@pytest.mark.parametrize("spell", ["ip-10-0-1-{n}.ec2.internal", "10.0.1.{n}"])
def test_folders_named_by_aws_host_names_are_the_tables_nodes(tmp_path: Path, spell: str) -> None:
    """A folder ``ip-10-0-1-14.ec2.internal-LEAF`` is the step target 10.0.1.14:3306: its
    network error is the cause, as with IP-named folders (probe r1 / r1ip)."""
    from forensics.analysis import analyze_bundle

    ma = tmp_path / "report" / f"{spell.format(n=10)}-MA"
    leaf = tmp_path / "report" / f"{spell.format(n=14)}-LEAF"
    for folder in (ma, leaf):
        folder.mkdir(parents=True)
    (ma / "memsql.log").write_text(_MA_LOG)
    (ma / "showRebalanceStatus.json").write_text(_STATUS)
    (leaf / "memsql.log").write_text(
        "20000000 2026-03-10 14:04:11.718   WARN: socket (107) ETIMEDOUT in recv\n"
        "30000000 2026-03-10 14:04:23.718   WARN: socket (107) ETIMEDOUT in recv\n"
    )
    bundle = load_bundle(tmp_path / "report")
    assert "10.0.1.14:3306" in bundle.nodes.get_column("node").to_list()
    verdict = analyze_bundle(bundle).verdicts[0]
    assert (verdict.database, verdict.phase, verdict.cause) == ("sales", "copy", "network_error")


def test_a_node_folders_log_named_by_another_host_is_the_folders_node(tmp_path: Path) -> None:
    """Folder first (SPEC §2.3): ``sdb-ma-MA/10.2.0.10_3306_memsql.log`` and the folder's
    showVariables.json are one node, so the MA's redundancy_level is the MA's (b17)."""
    ma = tmp_path / "bundle" / "sdb-ma-MA"
    (ma / "memsqlTracelogs").mkdir(parents=True)
    (ma / "memsqlTracelogs" / "10.2.0.10_3306_memsql.log").write_text(_MA_LOG)
    (ma / "showVariables.json").write_text('[{"Variable_name": "redundancy_level", "Value": "1"}]')
    bundle = load_bundle(tmp_path / "bundle")
    assert bundle.nodes.get_column("node").to_list() == ["sdb-ma"]
    assert bundle.variables.get_column("node").to_list() == ["sdb-ma"]
