"""MCP servers as skill sets: the real mcp-server-time and mcp-server-git from PyPI, over stdio."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.workers.conftest import binary
from workers.runtime.mcp_skills import MCPServer, MCPStartError, attach_mcp
from workers.runtime.skills import InvalidSkillArguments, SkillRegistry


def time_server(prefix: str = "") -> MCPServer:
    return MCPServer(binary("mcp-server-time"), ("--local-timezone", "UTC"), prefix)


def test_command_lines_parse_with_an_optional_prefix() -> None:
    assert MCPServer.parse("mcp-server-time --local-timezone UTC") == MCPServer(
        "mcp-server-time", ("--local-timezone", "UTC"))
    assert MCPServer.parse("git=mcp-server-git --repository '/tmp/a b'") == MCPServer(
        "mcp-server-git", ("--repository", "/tmp/a b"), "git")
    assert MCPServer.parse("env A=1 server").command == "env"
    assert MCPServer("x", (), "p").skill_name("tool.v2") == "p_tool_v2"
    with pytest.raises(ValueError, match="empty"):
        MCPServer.parse("   ")


async def test_time_server_convert_time_through_the_registry() -> None:
    skills = SkillRegistry()
    async with attach_mcp(skills, time_server()) as names:
        assert sorted(names) == ["convert_time", "get_current_time"] == skills.names()
        spec = {s["function"]["name"]: s["function"] for s in skills.specs()}["convert_time"]
        assert spec["parameters"]["required"] == ["source_timezone", "time", "target_timezone"]
        assert "timezone" in spec["description"].lower()
        result = await skills.call("convert_time", {
            "source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"})
        assert not result.is_error
        answer = json.loads(result.content)
        assert answer["source"]["datetime"].endswith("T12:00:00+00:00")
        assert answer["target"]["datetime"].endswith("T21:00:00+09:00")
        assert answer["time_difference"] == "+9.0h"
    assert len(skills) == 0  # the server's tools leave with it


async def test_time_server_errors_reach_the_agent() -> None:
    skills = SkillRegistry()
    async with attach_mcp(skills, time_server(prefix="time")):
        assert skills.names() == ["time_convert_time", "time_get_current_time"]
        bad_zone = await skills.call("time_convert_time", {
            "source_timezone": "Mars/Olympus", "time": "12:00", "target_timezone": "UTC"})
        assert bad_zone.is_error
        assert "Invalid timezone" in bad_zone.content and "Mars/Olympus" in bad_zone.content
        with pytest.raises(InvalidSkillArguments) as err:
            await skills.call("time_convert_time", {"time": 12, "target_timezone": "UTC"})
        assert str(err.value) == ("invalid arguments for time_convert_time: Value error, "
                                  "'source_timezone' is a required property; "
                                  "time: 12 is not of type 'string'")


async def test_git_server_log_and_status_on_a_real_repo(git_repo: Path) -> None:
    skills = SkillRegistry()
    server = MCPServer(binary("mcp-server-git"), ("--repository", str(git_repo)), "git")
    async with attach_mcp(skills, server) as names:
        assert {"git_git_log", "git_git_status", "git_git_diff_unstaged"} <= set(names)
        log = await skills.call("git_git_log", {"repo_path": str(git_repo)})
        assert not log.is_error
        assert "Initial commit: README" in log.content and "Test Author" in log.content
        status = await skills.call("git_git_status", {"repo_path": str(git_repo)})
        assert not status.is_error
        assert "On branch main" in status.content and "notes.txt" in status.content


async def test_two_servers_with_clashing_names_need_a_prefix() -> None:
    skills = SkillRegistry()
    async with attach_mcp(skills, time_server()):
        with pytest.raises(Exception, match="registered twice"):
            async with attach_mcp(skills, time_server()):
                pass
        assert skills.names() == ["convert_time", "get_current_time"]


async def test_a_server_that_cannot_start_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MCPStartError, match="cannot start MCP server 'no-such-mcp-server"):
        async with attach_mcp(SkillRegistry(), MCPServer("no-such-mcp-server", ("--x",))):
            pass
    with pytest.raises(MCPStartError, match="did not answer"):
        async with attach_mcp(SkillRegistry(), MCPServer("true")):
            pass
