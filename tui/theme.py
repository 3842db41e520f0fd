"""The app's two themes: the default dark one and a high-contrast one for shop-floor screens.

Machine-state colours are theme variables (`$state-running` …) so the grid, tiles and
alerts follow the theme, and the high-contrast theme can use pure colours with black
text that stay readable on washed-out panels and in direct light.
"""

from __future__ import annotations

from textual.theme import Theme

DEFAULT = "factoryos"
HIGH_CONTRAST = "factoryos-high-contrast"

STATE_VARIABLES: dict[str, str] = {
    "state-running": "#2e7d32",
    "state-idle": "#b28704",
    "state-planned-stop": "#5e35b1",
    "state-unplanned-stop": "#c62828",
    "state-setup": "#1565c0",
    "state-offline": "#546e7a",
    "state-no-data": "#546e7a",
    "state-unknown": "#424242",
    "state-text": "#ffffff",
}

THEMES = (
    Theme(
        name=DEFAULT,
        primary="#2f80ed",
        secondary="#1b4f8a",
        accent="#f2a900",
        warning="#f2a900",
        error="#e5484d",
        success="#3fb950",
        foreground="#e6e6e6",
        background="#101418",
        surface="#182028",
        panel="#22303c",
        dark=True,
        variables=STATE_VARIABLES,
    ),
    Theme(
        name=HIGH_CONTRAST,
        primary="#ffff00",
        secondary="#00ffff",
        accent="#ffff00",
        warning="#ffff00",
        error="#ff5555",
        success="#00ff00",
        foreground="#ffffff",
        background="#000000",
        surface="#000000",
        panel="#1a1a1a",
        dark=True,
        luminosity_spread=0.0,
        text_alpha=1.0,
        variables={
            "state-running": "#00ff00",
            "state-idle": "#ffff00",
            "state-planned-stop": "#ff00ff",
            "state-unplanned-stop": "#ff0000",
            "state-setup": "#00ffff",
            "state-offline": "#ffffff",
            "state-no-data": "#ffffff",
            "state-unknown": "#808080",
            "state-text": "#000000",
            "border": "#ffffff",
            "input-cursor-background": "#ffff00",
            "input-cursor-foreground": "#000000",
            "block-cursor-background": "#ffff00",
            "block-cursor-foreground": "#000000",
            "block-cursor-text-style": "bold",
            "footer-key-foreground": "#ffff00",
        },
    ),
)
