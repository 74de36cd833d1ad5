"""Texts every front end shows alike: errors by their codes, progress, the greeting."""

from __future__ import annotations

from .errors import InvalidAnswer
from .flow import Flow
from .i18n import N_, Translator

ERRORS = {
    "unknown_option": N_("Please choose one of the options."),
    "choose_at_least_one": N_("Please choose at least one option."),
    "exclusive_option": N_("“{option}” cannot be combined with other options."),
    "not_a_number": N_("Please type a number, for example {example}."),
    "not_whole_number": N_(
        "Please type a whole number, for example {example}: contacts are counted in whole numbers."
    ),
    "below_minimum": N_("The number must be at least {minimum}."),
    "above_maximum": N_("The number must be at most {maximum}."),
    "empty_text": N_("Please type an answer."),
    "text_too_long": N_("Please keep your answer under {limit} characters."),
    "not_yes_no": N_("Please answer yes or no."),
    "not_yes_no_dont_know": N_("Please answer yes, no or I don't know."),
    "already_finished": N_("This conversation is finished. Start a new one to change answers."),
    "nothing_to_go_back_to": N_("This is the first question, so there is nothing to go back to."),
    "flow_changed": N_("The questions were updated meanwhile. Please answer this one again."),
    "missing_answer": N_("no answer given"),
    "unknown_question": N_("not a question of this flow"),
    "busy": N_("The advisor is busy right now. Please try again in a moment."),
    "unavailable": N_("Your answer could not be saved. Please try again later."),
    "stale": N_("That button belongs to an earlier question. Here is the current one."),
    "invalid_press": N_("That button is not valid (any more)."),
    "answered_already": N_("Already answered: the current question is further down."),
    "finished_press": N_("This conversation is finished. /summary shows the recommendation."),
    "nothing_stored": N_("Nothing is stored for you any more. /start begins a new conversation."),
    "use_buttons": N_("Please answer with the buttons under the question."),
}


def error_text(error: InvalidAnswer | str, t: Translator, option_text: str = "") -> str:
    """The translated sentence for an error code, with its numbers formatted for the locale."""
    code = error if isinstance(error, str) else error.code
    params = {} if isinstance(error, str) else dict(error.params)
    for key in ("minimum", "maximum", "limit"):
        if key in params:
            params[key] = t.number(params[key])
    params.setdefault("example", t.number(12000))
    params["option"] = option_text or params.get("option", "")
    params.pop("value", None)
    message = ERRORS.get(code, ERRORS["unavailable"])
    return t(message, **{k: v for k, v in params.items() if "{" + k + "}" in message})


def progress_bar(step: int, total: int, width: int = 10) -> str:
    """`▓▓▓░░░░░░░`: how far the conversation is, the same on every front end."""
    filled = round(width * (step - 1) / max(total, 1))
    return "▓" * filled + "░" * (width - filled)


def greeting(
    flow: Flow, t: Translator, *, resumed: bool, name: str | None = None, migrated: bool = False
) -> str:
    """The first words of a conversation: a welcome back (saying so if the questions changed
    since), or a hello and the introduction."""
    if resumed:
        if name is None:
            welcome = t(N_("Welcome back: we continue where you left off."))
        else:
            welcome = t(N_("Welcome back, {name}! Let us continue where you left off."), name=name)
        if migrated:
            kept = N_("The questions were updated since your last visit; your answers were kept.")
            welcome += "\n" + t(kept)
        return welcome
    if name is None:
        return t(flow.intro)
    hello = t(N_("Hello {name}! I am your outsourcing advisor."), name=name)
    return f"{hello}\n\n{t(flow.intro)}"
