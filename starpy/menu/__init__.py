"""Declarative IVR menus, run over any AGI session.

Menus are immutable models, checked when they are built, and run by
calling them with an :class:`AGISession <starpy.agi.AGISession>` (FastAGI, classic AGI,
AsyncAGI: they use nothing but its command methods)::

    from starpy import menu

    sales = menu.Menu(
        prompt="sales-welcome",
        tellInvalid=False,
        options=[
            menu.Option("1"),
            menu.SubMenu("2", menu.CollectDigits(soundFile="enter-order-number",
                                                 maxDigits=8, minDigits=4)),
            menu.ExitOn("*"),
        ],
        maxRepetitions=5,
    )

    async def main(agi):
        chain = await sales(agi)     # [(SubMenu('2'...), '2'), (CollectDigits(...), '1234')]

StarPy's documented menu (``atlantic``, with a sub-menu and an extension
entry) is built by :func:`starpy.cli.demo.atlanticMenu`, which the demo and
the examples use.

How a menu runs:

* The prompt plays element by element; any key that starts an option stops
  it.  Otherwise the menu waits ``timeout`` seconds for a key.
* An option may be several keys (``"12"``, ``"#9"``): after a key that
  starts a longer option, the menu waits ``interDigitTimeout`` seconds for
  each next key; a key that completes an option and starts no longer one
  selects it at once.
* An invalid entry (a key or keys that name no option) or no entry at all
  makes the menu start again, at most ``maxRepetitions`` more times; on an
  invalid entry, ``tellInvalid`` plays ``invalidPrompt`` first.  When
  repetitions run out the Deferred fails with
  :class:`MenuUnexpectedOption <starpy.error.MenuUnexpectedOption>` (last entry invalid) or
  :class:`MenuTimeout <starpy.error.MenuTimeout>` (last entry empty), both
  :class:`MenuFinished <starpy.error.MenuFinished>`.
* The result is the chain ``[(option, digits), ...]`` from this menu down
  to the option chosen in the lowest menu.  :class:`ExitOn` leaves a
  sub-menu and starts its parent menu again; at the top it fails the
  Deferred with :class:`MenuExit <starpy.error.MenuExit>`.
* A hangup fails the Deferred with :class:`AGIHangup <starpy.error.AGIHangup>`; the
  menu leaves nothing waiting behind it.

Models can be built from plain data (a JSON or TOML file) with
:func:`fromDict`.  Recording with :class:`CollectAudio` goes through
``RECORD FILE``; the file operations on the recording go through an
:class:`AudioFiles` hook (:class:`LocalFiles` by default).
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple, Union

import attrs
from twisted.internet.defer import Deferred

from starpy import error
from starpy.agi import AGISession, callHandler, digitChar
from starpy.menu._base import (
    INVALID_PROMPT,
    Attempts,
    Chain,
    HandlerResult,
    InteractionBase,
    Outcome,
    PromptInput,
    awaitCommand,
    invalidPromptField,
    outcomeValue,
    playPrompt,
    promptField,
)
from starpy.menu._checks import (
    checkBool,
    checkCallable,
    checkCount,
    checkKeys,
    checkSeconds,
    checkTextPrompt,
)
from starpy.menu.collect import AudioFiles, CollectAudio, CollectDigits, CollectPassword, LocalFiles
from starpy.menu.prompt import (
    AlphaPrompt,
    AudioPrompt,
    DateTimePrompt,
    DigitsPrompt,
    NumberPrompt,
    Prompt,
    PromptElement,
    SilencePrompt,
    TextPrompt,
)

__all__ = [
    "Menu",
    "Option",
    "SubMenu",
    "ExitOn",
    "CollectDigits",
    "CollectPassword",
    "CollectAudio",
    "AudioFiles",
    "LocalFiles",
    "AudioPrompt",
    "NumberPrompt",
    "DigitsPrompt",
    "AlphaPrompt",
    "DateTimePrompt",
    "SilencePrompt",
    "TextPrompt",
    "Prompt",
    "PromptElement",
    "PromptInput",
    "Chain",
    "Interaction",
    "fromDict",
    "INVALID_PROMPT",
    "log",
]

log = logging.getLogger("starpy.menu")


def _options(value: Sequence["MenuOption"]) -> Tuple["MenuOption", ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise error.MenuDefinitionError("must be a list of options, not %r" % (value,),
                                        "options")
    return tuple(value)


# -- menus and their options -------------------------------------------------------------------


@attrs.frozen
class Option:
    """A selectable key sequence of a :class:`Menu` (``"1"``, ``"12"``, ``"#9"``).

    When chosen, the menu's result is ``[(option, digits)]``; with
    *onSuccess*, ``onSuccess(agi, digits)`` is called instead and what it
    returns (a value, a Deferred or a coroutine's result) is what the menu,
    and every menu above it, returns.
    """

    option: str
    onSuccess: Optional[Callable[..., Any]] = None

    def __attrs_post_init__(self) -> None:
        checkKeys(self.option, "option")
        checkCallable(self.onSuccess, "onSuccess")

    async def _select(self, agi: AGISession, digits: str) -> Outcome:
        if self.onSuccess is None:
            return [(self, digits)]
        return HandlerResult(await callHandler(self.onSuccess, agi, digits))


@attrs.frozen
class ExitOn:
    """A key that leaves the menu: back to the parent menu, whose prompt
    plays again; not reported as a selection."""

    option: str = "*"

    def __attrs_post_init__(self) -> None:
        checkKeys(self.option, "option")

    def __call__(self, agi: AGISession, digits: str) -> Deferred[Chain]:
        """A Deferred failing with :class:`MenuExit <starpy.error.MenuExit>`."""
        d: Deferred[Chain] = Deferred()
        d.errback(error.MenuExit("exit on %r" % (digits,)))
        return d

    async def _select(self, agi: AGISession, digits: str) -> Outcome:
        return await self(agi, digits)


@attrs.frozen
class SubMenu:
    """A key that runs a child interaction (a :class:`Menu`, :class:`CollectDigits`,
    :class:`CollectPassword` or :class:`CollectAudio`)."""

    option: str
    menu: "Interaction"

    def __attrs_post_init__(self) -> None:
        checkKeys(self.option, "option")
        if not isinstance(self.menu, InteractionBase):
            raise error.MenuDefinitionError(
                "must be a Menu, CollectDigits, CollectPassword or CollectAudio, not %r"
                % (self.menu,), "menu")

    def __call__(self, agi: AGISession, digits: str) -> Deferred[Any]:
        """Run the child on *agi*.

        :return: a Deferred firing with ``[(self, digits)] + childChain``
            (or the value of a handler, unchanged); it fails as the child
            does, with :class:`MenuExit <starpy.error.MenuExit>` if the child was left
            by :class:`ExitOn`.
        """

        async def run() -> Any:
            return outcomeValue(await self._select(agi, digits))

        return Deferred.fromCoroutine(run())

    async def _select(self, agi: AGISession, digits: str) -> Outcome:
        outcome = await self.menu.interact(agi)
        if isinstance(outcome, HandlerResult):
            return outcome
        return [(self, digits)] + outcome


#: An option of a menu.
MenuOption = Union[Option, SubMenu, ExitOn]


def _checkOptions(options: Tuple[MenuOption, ...], interDigitTimeout: float) -> None:
    if not options:
        raise error.MenuDefinitionError("a menu needs at least one option", "options")
    seen: Dict[str, int] = {}
    for index, option in enumerate(options):
        if not isinstance(option, (Option, SubMenu, ExitOn)):
            raise error.MenuDefinitionError(
                "must be an Option, SubMenu or ExitOn, not %r" % (option,), "options[%d]" % index)
        key = option.option
        if key in seen:
            raise error.MenuDefinitionError(
                "duplicate option %r (also options[%d])" % (key, seen[key]),
                "options[%d]" % index)
        seen[key] = index
    if interDigitTimeout == 0:
        for short in seen:
            for long in seen:
                if long != short and long.startswith(short):
                    raise error.MenuDefinitionError(
                        "option %r is a prefix of option %r and interDigitTimeout is 0: "
                        "nothing can tell them apart" % (short, long), "options")


@attrs.frozen(kw_only=True)
class Menu(InteractionBase):
    """A menu: play a prompt, read a choice among *options*.

    :ivar prompt: what to play (see :mod:`starpy.menu.prompt`): a sound file,
        an int, a prompt element, or a list of these.
    :ivar options: :class:`Option`, :class:`SubMenu` and :class:`ExitOn`.
    :ivar tellInvalid: play *invalidPrompt* on an invalid entry (otherwise
        the menu just starts again).
    :ivar maxRepetitions: how many more times the menu is offered after an
        invalid or empty entry (0: offered once).
    :ivar timeout: seconds to wait for a key once the prompt has played.
    :ivar interDigitTimeout: seconds to wait for each next key of a longer
        option; when it passes, the keys so far are the entry.  0 forbids
        options that are prefixes of others.
    :ivar invalidPrompt: the invalid-entry message.
    :ivar onSuccess: ``onSuccess(agi, chain)``; what it returns is the
        menu's result.
    :ivar onFailure: ``onFailure(agi, failure)`` when repetitions run out
        (any :class:`MenuFinished <starpy.error.MenuFinished>` but
        :class:`MenuExit <starpy.error.MenuExit>`); what it returns is the result,
        and it may raise.  Hangups never reach it.
    :ivar textPrompt: what the prompt says, as text (upstream StarPy's
        field): documentation for readers of the menu, never played.

    Calling it returns a Deferred: see ``__call__``.
    """

    prompt: Tuple[Prompt, ...] = attrs.field(converter=promptField)
    options: Tuple[MenuOption, ...] = attrs.field(converter=_options)
    tellInvalid: bool = True
    maxRepetitions: int = 5
    timeout: float = 5.0
    onSuccess: Optional[Callable[..., Any]] = None
    onFailure: Optional[Callable[..., Any]] = None
    textPrompt: Optional[str] = None
    interDigitTimeout: float = 2.0
    invalidPrompt: Tuple[Prompt, ...] = attrs.field(default=INVALID_PROMPT,
                                                    converter=invalidPromptField)

    def __attrs_post_init__(self) -> None:
        checkBool(self.tellInvalid, "tellInvalid")
        checkCount(self.maxRepetitions, "maxRepetitions", 0)
        checkSeconds(self.timeout, "timeout")
        checkSeconds(self.interDigitTimeout, "interDigitTimeout", allowZero=True)
        checkCallable(self.onSuccess, "onSuccess")
        checkCallable(self.onFailure, "onFailure")
        checkTextPrompt(self.textPrompt)
        _checkOptions(self.options, self.interDigitTimeout)

    @property
    def escapeDigits(self) -> str:
        """The keys that start an option: they interrupt the prompt."""
        return "".join(sorted({option.option[0] for option in self.options}))

    def option(self, digits: str) -> Optional[MenuOption]:
        """The option selected by *digits*, or ``None``."""
        for option in self.options:
            if option.option == digits:
                return option
        return None

    async def _read(self, agi: AGISession) -> str:
        """Play the prompt and read an entry: the keys pressed, or ``""``."""
        keys = [option.option for option in self.options]
        entry = await playPrompt(agi, self.prompt, self.escapeDigits)
        if entry is None:
            code: int = await awaitCommand(agi, agi.waitForDigit(self.timeout))
            entry = digitChar(code)
            if not entry:
                return ""
        while any(key != entry and key.startswith(entry) for key in keys):
            code = await awaitCommand(agi, agi.waitForDigit(self.interDigitTimeout))
            more = digitChar(code)
            if not more:
                break
            entry += more
        return entry

    async def _run(self, agi: AGISession) -> Outcome:
        attempts = Attempts(self, self.maxRepetitions)
        while True:
            entry = await self._read(agi)
            chosen = self.option(entry) if entry else None
            if chosen is None:
                if entry and self.tellInvalid:
                    await playPrompt(agi, self.invalidPrompt, "")
                attempts.fail("invalid" if entry else "timeout", entry)
                continue
            log.debug("%s: option %r chosen", agi.channelName, entry)
            try:
                return await chosen._select(agi, entry)
            except error.MenuExit:
                if isinstance(chosen, SubMenu):
                    attempts = Attempts(self, self.maxRepetitions)
                    continue
                raise




#: Everything that can run as a top-level interaction or inside a SubMenu.
Interaction = Union[Menu, CollectDigits, CollectPassword, CollectAudio]


# -- building from plain data ------------------------------------------------------------------

_INTERACTIONS: Tuple[type, ...] = (Menu, CollectDigits, CollectPassword, CollectAudio)
_OPTIONS: Tuple[type, ...] = (Option, SubMenu, ExitOn)
_PROMPTS: Tuple[type, ...] = (AudioPrompt, NumberPrompt, DigitsPrompt, AlphaPrompt,
                              DateTimePrompt, SilencePrompt, TextPrompt)
_PROMPT_FIELDS = frozenset(["prompt", "soundFile", "invalidPrompt", "reviewPrompt",
                            "confirmPrompt"])
_HANDLER_FIELDS = frozenset(["onSuccess", "onFailure", "files"])


def _join(path: str, name: str) -> str:
    return name if not path else path + "." + name


def _build(data: object, handlers: Mapping[str, Any], path: str,
           kinds: Tuple[type, ...], default: Optional[type]) -> Any:
    names = ", ".join(kind.__name__ for kind in kinds)
    if not isinstance(data, Mapping):
        raise error.MenuDefinitionError("must be a table of fields (one of %s), not %r"
                                        % (names, data), path)
    typeName = data.get("type", None if default is None else default.__name__)
    if typeName is None:
        raise error.MenuDefinitionError("needs a 'type' (one of %s)" % (names,), path)
    found = [kind for kind in kinds
             if isinstance(typeName, str) and kind.__name__.lower() == typeName.lower()]
    if not found:
        raise error.MenuDefinitionError("unknown type %r here (one of %s)" % (typeName, names),
                                        _join(path, "type"))
    kind = found[0]
    fields = {field.name: field for field in attrs.fields(kind)}
    arguments: Dict[str, Any] = {}
    for name, value in data.items():
        if name == "type":
            continue
        where = _join(path, str(name))
        if name not in fields:
            raise error.MenuDefinitionError("%s has no field %r (its fields: %s)"
                                            % (kind.__name__, name, ", ".join(fields)), where)
        arguments[name] = _value(name, value, handlers, where)
    for name, field in fields.items():
        if field.default is attrs.NOTHING and name not in arguments:
            raise error.MenuDefinitionError("%s needs this field" % (kind.__name__,),
                                            _join(path, name))
    try:
        return kind(**arguments)
    except error.MenuDefinitionError as e:
        raise e.within(path) from None


def _value(name: str, value: object, handlers: Mapping[str, Any], where: str) -> Any:
    if name in _PROMPT_FIELDS:
        if isinstance(value, Mapping):
            return _build(value, handlers, where, _PROMPTS, None)
        if isinstance(value, (list, tuple)):
            return [_build(item, handlers, "%s[%d]" % (where, index), _PROMPTS, None)
                    if isinstance(item, Mapping) else item for index, item in enumerate(value)]
        return value
    if name == "options":
        if not isinstance(value, (list, tuple)):
            raise error.MenuDefinitionError("must be a list of options, not %r" % (value,), where)
        return [_build(item, handlers, "%s[%d]" % (where, index), _OPTIONS, Option)
                for index, item in enumerate(value)]
    if name == "menu":
        return _build(value, handlers, where, _INTERACTIONS, Menu)
    if name in _HANDLER_FIELDS and isinstance(value, str):
        if value not in handlers:
            raise error.MenuDefinitionError(
                "no handler named %r (handlers given: %s)"
                % (value, ", ".join(sorted(handlers)) or "none"), where)
        return handlers[value]
    return value


def fromDict(data: Mapping[str, Any],
             handlers: Optional[Mapping[str, Any]] = None) -> Interaction:
    """Build a menu from plain data, such as a parsed JSON or TOML file.

    Each table has the constructor's keyword arguments as fields, and a
    ``type`` naming the class: ``"Menu"`` (the default at the top and for
    ``menu``), ``"Option"`` (the default in ``options``), ``"SubMenu"``,
    ``"ExitOn"``, ``"CollectDigits"``, ``"CollectPassword"``,
    ``"CollectAudio"``, and in prompts ``"AudioPrompt"``,
    ``"NumberPrompt"``, ``"DigitsPrompt"``, ``"AlphaPrompt"``,
    ``"DateTimePrompt"``, ``"SilencePrompt"``, ``"TextPrompt"`` (a plain string in a prompt is
    a sound file, an integer a number).  ``onSuccess``, ``onFailure`` and
    ``files`` name an entry of *handlers*.  ::

        fromDict({"prompt": "atlantic", "tellInvalid": False,
                  "options": [{"option": "0", "onSuccess": "operator"},
                              {"type": "ExitOn", "option": "*"}]},
                 handlers={"operator": transferToOperator})

    :raise starpy.error.MenuDefinitionError: naming the bad field by its
        path (``options[1].menu.maxDigits``) and what is wrong with it.
    """
    result: Interaction = _build(data, handlers or {}, "", _INTERACTIONS, Menu)
    return result
