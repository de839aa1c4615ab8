"""E1: the reason text a validator shows for each seal."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from tachiai.domain.events import AuthMethod, EventKind, Person, SealEvent
from tachiai.sealing.reason import format_local_time, seal_reason

TOKYO = ZoneInfo("Asia/Tokyo")
AT = datetime(2026, 11, 22, 1, 15, 3, 912345, tzinfo=UTC)
TARO = Person(name="山田太郎", email="taro@example.com")


def _event(kind: EventKind, *auth: AuthMethod, to: Person | None = None) -> SealEvent:
    return SealEvent(kind=kind, actor=TARO, at=AT, auth_methods=list(auth), forwarded_to=to)


def test_local_time_has_whole_seconds_and_an_offset_with_colon():
    assert format_local_time(AT, TOKYO) == "2026-11-22 10:15:03 +09:00"


def test_agreement_reason_in_japanese_matches_the_witness_style():
    reason = seal_reason(_event(EventKind.AGREED, AuthMethod.EMAIL_LINK, AuthMethod.ACCESS_CODE), "ja", TOKYO)
    assert (
        reason
        == "山田太郎 (taro@example.com) が 2026-11-22 10:15:03 +09:00 に承認しました（メール認証＋アクセスコード）"
    )


def test_agreement_reason_in_english():
    reason = seal_reason(_event(EventKind.AGREED, AuthMethod.EMAIL_OTP), "en", TOKYO)
    assert (
        reason
        == "山田太郎 (taro@example.com) approved at 2026-11-22 10:15:03 +09:00 (email one-time password)"
    )


def test_sent_reason_says_the_sender_sent_it_after_logging_in():
    reason = seal_reason(_event(EventKind.SENT, AuthMethod.SENDER_LOGIN), "ja", TOKYO)
    assert reason.endswith("に送信しました（ログイン認証）")


def test_forward_reason_names_the_new_person():
    hanako = Person(name="山﨑花子", email="hanako@example.jp")
    reason = seal_reason(_event(EventKind.FORWARDED, AuthMethod.EMAIL_LINK, to=hanako), "ja", TOKYO)
    assert reason == (
        "山田太郎 (taro@example.com) が 2026-11-22 10:15:03 +09:00 に山﨑花子 (hanako@example.jp) へ転送しました（メール認証）"
    )


def test_time_zone_is_the_tenants():
    reason = seal_reason(_event(EventKind.AGREED, AuthMethod.EMAIL_LINK), "en", ZoneInfo("Europe/London"))
    assert "2026-11-22 01:15:03 +00:00" in reason


def test_agreement_reason_in_chinese():
    reason = seal_reason(_event(EventKind.AGREED, AuthMethod.EMAIL_LINK, AuthMethod.ACCESS_CODE), "zh", TOKYO)
    assert (
        reason
        == "山田太郎 (taro@example.com) 于 2026-11-22 10:15:03 +09:00 批准了文件（邮件链接认证＋访问码）"
    )


def test_forward_reason_in_chinese_names_the_new_person():
    hanako = Person(name="山﨑花子", email="hanako@example.jp")
    reason = seal_reason(_event(EventKind.FORWARDED, AuthMethod.EMAIL_LINK, to=hanako), "zh", TOKYO)
    assert reason == (
        "山田太郎 (taro@example.com) 于 2026-11-22 10:15:03 +09:00 将文件转发给 山﨑花子 (hanako@example.jp)（邮件链接认证）"
    )
