"""The dashboard's sign-in: evfleet accounts when an operate store is configured, else the shared password.

- **Accounts.** When ``EVFLEET_OPERATE_DB`` (or ``evfleet dashboard --operate-db FILE``) names an operate store
  that holds users, a visitor signs in with an evfleet account: name and password, checked against the same
  argon2id hashes as the REST API's ``POST /api/v1/login`` (:func:`evfleet.operate.access.check_login`). The role
  is kept for the session: a viewer only reads (every action is refused, :func:`may_change`); an operator or an
  admin may act (e.g. ask the running server for a re-plan).
- **Shared password.** Otherwise ``EVFLEET_DASHBOARD_PASSWORD`` (when set) is asked, as before.
- Neither: the page opens (the launcher only allows this on a loopback address).

Nothing is shown before a successful sign-in (:func:`gate` stops the script).
"""

from __future__ import annotations

import hmac
import os

import streamlit as st

from evfleet.dashboard import depot_i18n  # noqa: F401  (registers the login and live-depot texts)
from evfleet.dashboard.i18n import t
from evfleet.dashboard.launch import ENV_DASHBOARD_PASSWORD
from evfleet.operate.access import ENV_OPERATE_DB, check_login, has_accounts
from evfleet.operate.accounts import User
from evfleet.operate.security import role_allows

__all__ = ["current_user", "gate", "logout_button", "may_change", "operate_db"]

_USER = "_evfleet_user"
_SHARED_OK = "_authenticated"


def operate_db() -> str | None:
    """The operate store the dashboard reads (``EVFLEET_OPERATE_DB``), or None."""
    return os.environ.get(ENV_OPERATE_DB) or None


def _accounts_on() -> bool:
    db = operate_db()
    if not db:
        return False
    try:
        return has_accounts(db)
    except Exception:  # a missing or unreadable store: fall back to the shared password
        return False


def current_user() -> User | None:
    """The signed-in evfleet account, or None (shared password or no sign-in)."""
    u = st.session_state.get(_USER)
    return User(u["name"], u["role"]) if u else None


def may_change(needed: str = "operator") -> bool:
    """Whether this visitor may act: a signed-in account with at least role ``needed``; without accounts (shared
    password or loopback) everyone may, as before."""
    user = current_user()
    if user is None:
        return not _accounts_on()
    return role_allows(user.role, needed)


def gate(lang: str = "en") -> None:
    """Ask for a sign-in when one is needed; stop the script until it succeeds."""
    if st.session_state.get(_USER) or st.session_state.get(_SHARED_OK):
        return
    db = operate_db()
    if db and _accounts_on():
        st.subheader(t("login_title", lang))
        with st.form("evfleet_login"):
            name = st.text_input(t("login_name", lang), key="_login_name")
            password = st.text_input(t("login_password", lang), type="password", key="_login_password")
            submitted = st.form_submit_button(t("login_submit", lang))
        if submitted:
            user = check_login(db, name.strip(), password)
            if user is not None:
                st.session_state[_USER] = {"name": user.name, "role": user.role}
                st.rerun()
            st.error(t("login_wrong", lang))
        st.stop()
    shared = os.environ.get(ENV_DASHBOARD_PASSWORD, "")
    if shared:  # required to serve other machines (launch.py)
        given = st.text_input("Password · Mot de passe", type="password", key="_password")
        if given and hmac.compare_digest(given.encode("utf-8"), shared.encode("utf-8")):
            st.session_state[_SHARED_OK] = True
            st.rerun()
        if given:
            st.error("Wrong password · Mot de passe incorrect")
        st.stop()


def logout_button(lang: str = "en") -> None:
    """In the sidebar: who is signed in, and a sign-out button (accounts only)."""
    user = current_user()
    if user is None:
        return
    st.sidebar.caption(t("login_as", lang, name=user.name, role=t(f"role_{user.role}", lang)))
    if st.sidebar.button(t("logout", lang), key="_logout"):
        del st.session_state[_USER]
        st.rerun()
