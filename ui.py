"""The web chat: a Gradio app, thin over :class:`rag.Pipeline`. Run ``python ui.py`` or ``rag serve``.

Every answer shows, under it, the verbatim quotes it rests on, with the document's title, file and position.
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterator, Sequence
from typing import Any

from rag import Answer, Pipeline, Quote, RagError
from rag.conversation import Message

EXAMPLES = [
    "How much could Ukraine borrow under the reparations loan?",
    "Who is the EU Defense Commissioner?",
    "Who won the 2022 World Cup?",
]


def _text_of(content: Any) -> str:
    """The plain text of a Gradio message content (a string, or a list of typed parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or "")
    if isinstance(content, Sequence):
        return " ".join(_text_of(part) for part in content)
    return ""


def _quote_markdown(n: int | None, quote: Quote) -> str:
    text = html.escape(quote.text, quote=False)
    if quote.highlight:
        a, b = quote.highlight[0] - quote.start, quote.highlight[1] - quote.start
        raw = quote.text
        text = (html.escape(raw[:a], quote=False) + "<mark>" + html.escape(raw[a:b], quote=False) + "</mark>"
                + html.escape(raw[b:], quote=False))
    label = f"[{n}] " if n is not None else ""
    return f"> {label}“{text}”  \n> — *{html.escape(quote.title)}* · `{quote.source}` · {quote.location}"


def render(answer: Answer) -> str:
    """An answer as Markdown: the text, then each quote with where it stands."""
    parts = [answer.text]
    if answer.quotes:
        parts.append("**Sources**")
        parts.extend(_quote_markdown(n, q) for n, q in enumerate(answer.quotes, start=1))
    if answer.related:
        parts.append("**Closest passages** (they do not answer the question)")
        parts.extend(_quote_markdown(None, q) for q in answer.related)
    return "\n\n".join(parts)


def respond(pipeline: Pipeline, message: str, history: Sequence[dict[str, Any]]) -> Iterator[str]:
    """The chat function: one question (with the conversation so far) -> the rendered answer."""
    import gradio as gr

    turns: list[Message] = [
        {"role": str(m.get("role", "")), "content": _text_of(m.get("content"))}
        for m in history
        if isinstance(m, dict)
    ]
    if not message.strip():
        yield "Please type a question about the documents."
        return
    try:
        yield render(pipeline.answer(message, history=turns))
    except RagError as error:
        raise gr.Error(str(error)) from None


def build_demo(pipeline: Pipeline) -> Any:
    """The Gradio app for ``pipeline`` (built, not launched, so tests can serve it themselves)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    store = pipeline.store
    names = ", ".join(f"*{html.escape(d.title)}*" for d in store.documents[:8])
    more = f" and {len(store.documents) - 8} more" if len(store.documents) > 8 else ""
    description = (f"Answers come only from {len(store.documents)} document(s): {names}{more}. "
                   "Each answer quotes its sources word for word; when the documents do not say, the bot says so.")

    def chat(message: str, history: list[dict[str, Any]]) -> Iterator[str]:
        yield from respond(pipeline, message, history)

    with gr.Blocks(title="Ask your documents", analytics_enabled=False) as demo:
        gr.ChatInterface(
            chat,
            chatbot=gr.Chatbot(label="Answers with sources", height=560, elem_id="chat"),
            textbox=gr.Textbox(placeholder="Ask a question about the documents…", elem_id="question",
                               submit_btn=True),
            title="Ask your documents",
            description=description,
            examples=EXAMPLES,
            run_examples_on_click=True,
            api_name="ask",
            flagging_mode="never",
        )
    return demo


def serve(pipeline: Pipeline | None = None, auth: tuple[str, str] | None = None, **launch: Any) -> None:
    """Index (if needed) and serve the chat on ``settings.host:settings.port`` (127.0.0.1 by default)."""
    pipeline = pipeline or Pipeline()
    report = pipeline.index()
    print(f"index: {report.summary()}", flush=True)
    for error in report.skipped:
        print(f"skipped {error.path}: {error.reason}", flush=True)
    demo = build_demo(pipeline)
    settings = pipeline.settings
    demo.queue(default_concurrency_limit=4).launch(
        server_name=settings.host, server_port=settings.port, auth=auth, share=False, show_error=True, **launch
    )


if __name__ == "__main__":
    serve()
