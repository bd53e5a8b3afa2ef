"""MCP tools over the engine, `ask`, `search` and `countries`, served over stdio by `rag mcp`.

The UI serves the same three tools through Gradio's MCP server (at /gradio_api/mcp/).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rag.engine import Engine
from rag.serving.json_forms import ask_json, countries_json, hit_json

if TYPE_CHECKING:
    from mcp.server.fastmcp import FastMCP

# {topic} and {contents}: the corpus profile's (rag/profile.py).
INSTRUCTIONS = (
    "Cited answers about {topic} from {contents}. Use `ask` for an answer whose [n] markers point at verbatim "
    "quotes, `search` for ranked passages, `countries` for the names a country filter accepts."
)


def build_server(engine: Engine) -> FastMCP:
    """A FastMCP server with the three tools."""
    from mcp.server.fastmcp import FastMCP

    profile = engine.settings.profile
    server = FastMCP("diplomatic-rag", instructions=INSTRUCTIONS.format(topic=profile.topic, contents=profile.contents))

    @server.tool()
    def ask(question: str, countries: list[str] | None = None, docs: list[str] | None = None) -> dict[str, Any]:
        """Answer a question from the corpus with checked citations.

        Args:
            question: the question, in plain words.
            countries: answer only from passages mentioning any of these countries or groupings, e.g. ["Japan"].
            docs: answer only from these documents (file names or titles, as `rag ask --doc`).

        Returns the answer (with [n] markers), `abstained` (true when the sources don't answer it; the
        closest cited sentences may follow),
        `citations` (n, title, url, doc_id, quote and quote_start/quote_end, the quote's character
        offsets in the document) and the passages it `retrieved`: what `rag ask --json` prints.
        """
        return ask_json(engine.ask(question, countries=countries, docs=docs))

    @server.tool()
    def search(question: str, k: int = 5, countries: list[str] | None = None) -> list[dict[str, Any]]:
        """The passages ranked best for a question, with their documents and character offsets.

        Args:
            question: what to look for.
            k: how many passages (1 to 50).
            countries: only passages that mention any of these countries or groupings.
        """
        return [hit_json(hit) for hit in engine.search(question, k, countries)]

    @server.tool()
    def countries() -> list[dict[str, Any]]:
        """The countries and groupings the corpus mentions, each with the number of passages mentioning it."""
        return countries_json(engine.countries())

    return server


def run_stdio(engine: Engine) -> None:
    """Serve the tools over stdin/stdout until the client closes them."""
    build_server(engine).run("stdio")
