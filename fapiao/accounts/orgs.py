"""Registering an organisation with its first admin; members and their roles."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fapiao.accounts import audit
from fapiao.accounts.context import AccountsContext
from fapiao.accounts.exceptions import (
    Conflict,
    Forbidden,
    NotFound,
    ResetTokenExpired,
    ResetTokenInvalid,
    ResetTokenUsed,
    WeakPassword,
)
from fapiao.accounts.models import Invitation, Membership, Organisation, User
from fapiao.accounts.passwords import password_problems
from fapiao.accounts.people import new_org_id, new_user_id, normalise_email
from fapiao.accounts.resets import INVITE_TTL_SECONDS, issue_token
from fapiao.accounts.tokens import digest, new_token

EMAIL_TAKEN = Conflict("an account with this email already exists", "该邮箱已注册")


@dataclass(frozen=True)
class Member:
    user_id: str
    email: str
    display_name: str
    role: str
    totp_enabled: bool
    invited: bool  # no password set yet
    joined_at: datetime


@dataclass(frozen=True)
class Invite:
    member: Member
    token: str
    accepted_by: Literal["password", "accept"]  # setting a password (new account), or accept_invitation


def new_user(email: str, display_name: str, password_hash: str | None, now: datetime) -> User:
    return User(
        id=new_user_id(),
        email=email,
        display_name=display_name,
        password_hash=password_hash,
        failed_logins=0,
        totp_enabled=False,
        session_version=0,
        created_at=now,
    )


def register(
    ctx: AccountsContext,
    org_name: str,
    email: str,
    password: str,
    display_name: str = "",
    org_id: str | None = None,
    ip: str | None = None,
) -> tuple[str, str]:
    """A new organisation and its first admin: (org_id, user_id)."""
    email = normalise_email(email)
    if problems := password_problems(password):
        raise WeakPassword(problems)
    password_hash = ctx.passwords.hash(password)
    now = ctx.clock()
    try:
        with ctx.sessions.begin() as s:
            if s.scalar(select(User.id).where(User.email == email)):
                raise EMAIL_TAKEN
            org = Organisation(id=org_id or new_org_id(), name=org_name, created_at=now)
            user = new_user(email, display_name, password_hash, now)
            s.add_all([org, user])
            s.flush()
            s.add(Membership(org_id=org.id, user_id=user.id, role="admin", created_at=now))
            audit.record(s, now, "org.registered", user.id, org.id, ip=ip, org_name=org_name)
    except IntegrityError as exc:  # a concurrent registration with the same email (or org id)
        raise EMAIL_TAKEN from exc
    return org.id, user.id


def members(ctx: AccountsContext, org_id: str) -> list[Member]:
    with ctx.sessions() as s:
        rows = s.execute(
            select(User, Membership)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.org_id == org_id)
            .order_by(Membership.created_at, User.email)
        ).all()
    return [_member(user, membership) for user, membership in rows]


def add_member(
    ctx: AccountsContext,
    org_id: str,
    actor: str,
    email: str,
    role: str,
    display_name: str = "",
    ip: str | None = None,
) -> Invite:
    """Invite a person; nobody joins without their own consent (issue 16). A new email gets an account
    without a password and a token to set one (setting it accepts). An existing account gets a join
    token instead and joins only when its owner accepts (`accept_invitation`): until then it is not a
    member. (The token goes to the invitee by mail, never to the inviter."""
    email = normalise_email(email)
    now = ctx.clock()
    with ctx.sessions.begin() as s:
        user = s.scalar(select(User).where(User.email == email))
        if user is None:
            user = new_user(email, display_name, None, now)
            s.add(user)
            s.flush()
            token = issue_token(s, user.id, "invite", INVITE_TTL_SECONDS, now)
            membership = Membership(org_id=org_id, user_id=user.id, role=role, created_at=now)
            s.add(membership)
            audit.record(s, now, "member.added", actor, org_id, ip=ip, user_id=user.id, role=role)
            return Invite(_member(user, membership), token, "password")
        if s.get(Membership, (org_id, user.id)) is not None:
            raise Conflict("already a member of this organisation", "该用户已是本组织成员")
        token = new_token()
        s.add(
            Invitation(
                org_id=org_id,
                user_id=user.id,
                role=role,
                invited_by=actor,
                token_hash=digest(token),
                created_at=now,
                expires_at=now + timedelta(seconds=INVITE_TTL_SECONDS),
            )
        )
        audit.record(s, now, "member.invited", actor, org_id, ip=ip, user_id=user.id, role=role)
        pending = Membership(org_id=org_id, user_id=user.id, role=role, created_at=now)  # not stored
        return Invite(replace(_member(user, pending), invited=True), token, "accept")


def accept_invitation(ctx: AccountsContext, user_id: str, token: str, ip: str | None = None) -> Member:
    """The invited account's owner (logged in) joins with the token mailed to them."""
    now = ctx.clock()
    with ctx.sessions.begin() as s:
        invitation = s.scalar(select(Invitation).where(Invitation.token_hash == digest(token)))
        if invitation is None or invitation.user_id != user_id:
            raise ResetTokenInvalid()  # another account's token is as unknown as a made-up one
        if invitation.accepted_at is not None:
            raise ResetTokenUsed()
        if invitation.expires_at <= now:
            raise ResetTokenExpired()
        invitation.accepted_at = now
        if s.get(Membership, (invitation.org_id, user_id)) is not None:
            raise Conflict("already a member of this organisation", "该用户已是本组织成员")
        membership = Membership(
            org_id=invitation.org_id, user_id=user_id, role=invitation.role, created_at=now
        )
        s.add(membership)
        audit.record(
            s,
            now,
            "member.added",
            user_id,
            invitation.org_id,
            ip=ip,
            user_id=user_id,
            role=invitation.role,
            invited_by=invitation.invited_by,
        )
        return _member(s.get_one(User, user_id), membership)


def change_role(
    ctx: AccountsContext, org_id: str, actor: str, user_id: str, role: str, ip: str | None = None
) -> Member:
    now = ctx.clock()
    with ctx.sessions.begin() as s:
        membership = _membership_of(s, org_id, user_id)
        if membership.role == "admin" and role != "admin":
            _keep_an_admin(s, org_id)
        old, membership.role = membership.role, role
        audit.record(s, now, "member.role_changed", actor, org_id, ip=ip, user_id=user_id, old=old, new=role)
        user = s.get_one(User, user_id)
        return _member(user, membership)


def remove_member(ctx: AccountsContext, org_id: str, actor: str, user_id: str, ip: str | None = None) -> None:
    now = ctx.clock()
    with ctx.sessions.begin() as s:
        membership = _membership_of(s, org_id, user_id)
        if membership.role == "admin":
            _keep_an_admin(s, org_id)
        s.delete(membership)
        audit.record(s, now, "member.removed", actor, org_id, ip=ip, user_id=user_id, role=membership.role)


def organisation_name(ctx: AccountsContext, org_id: str) -> str | None:
    with ctx.sessions() as s:
        org = s.get(Organisation, org_id)
        return org.name if org else None


def _membership_of(s: Session, org_id: str, user_id: str) -> Membership:
    membership = s.get(Membership, (org_id, user_id))
    if membership is None:  # other organisations' people are not found, never forbidden
        raise NotFound("no such member", "本组织无此成员")
    return membership


def _keep_an_admin(s: Session, org_id: str) -> None:
    admins = s.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.org_id == org_id, Membership.role == "admin")
    )
    if (admins or 0) <= 1:
        raise Forbidden("an organisation needs at least one admin", "组织至少需要一名管理员")


def _member(user: User, membership: Membership) -> Member:
    return Member(
        user_id=user.id,
        email=user.email,
        display_name=user.display_name,
        role=membership.role,
        totp_enabled=user.totp_enabled,
        invited=user.password_hash is None,
        joined_at=membership.created_at,
    )
