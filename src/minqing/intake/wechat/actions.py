"""What the official account does with a follower's messages.

`handle_message` runs inside the callback request: it only reads and writes the draft
(a few rows) and returns the passive-reply text. Anything slow — downloading images,
registering the case, sending the receipt — is a task enqueued on commit.

Conversation: description → township → name (or 匿名) → "确认提交请回复1" → case.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from minqing.accounts import audit
from minqing.accounts.models import User
from minqing.cases.actions import NewCase, PartyInput, add_information, register_case
from minqing.cases.attachments import AttachmentRefused, UploadedFile, check_uploads
from minqing.cases.models import Case, CaseState, Channel
from minqing.cases.selectors import cases_visible_to, resolve_reference
from minqing.core.errors import DomainError
from minqing.intake.open311 import geo
from minqing.intake.wechat.client import WeChatApiError, WeChatClient
from minqing.intake.wechat.models import Stage, WeChatDraft, WeChatMessageLog
from minqing.orgs.models import OrgUnit

logger = logging.getLogger("minqing.wechat")

DRAFT_TTL = timedelta(hours=24)
SUBMIT_STALE_AFTER = timedelta(minutes=10)
RECENT_CASE_WINDOW = timedelta(hours=1)
MIN_FIRST_DESCRIPTION = 10
MIN_DESCRIPTION = 5
MAX_DESCRIPTION = 2000
MAX_IMAGES = 9
QUERY = re.compile(r"^查询\s*([A-Za-z]{1,10}\d{4}-\d{1,8})\s*$")
CANCEL_WORDS = frozenset({"取消", "退出"})

WELCOME = (
    "欢迎关注！在这里您可以直接反映诉求：\n"
    "· 发送文字描述您的问题，按提示填写事发地点即可提交；\n"
    "· 发送图片作为佐证材料；\n"
    "· 回复“查询 案件编号”查看办理进度。\n"
    "也可以使用下方菜单“我要反映”“我的诉求”“进度查询”。"
)
HELP = (
    "回复文字即可反映诉求；回复“查询 案件编号”（如：查询 YY2026-000123）可查看办理进度；回复“取消”放弃正在填写的内容。"
)
PROMPT_DESCRIPTION = "请描述您的诉求：发生了什么事、涉及哪些人、希望如何解决（可分几条发送，回复“取消”放弃）。"
PROMPT_QUERY = "请回复“查询 案件编号”，如：查询 YY2026-000123。"

PLAIN_STATUS = {
    CaseState.SUBMITTED: "已收到，等待登记受理",
    CaseState.ACCEPTED: "已受理，正在安排承办单位",
    CaseState.DECLINED: "不予受理",
    CaseState.MERGED: "已与相同诉求合并办理",
    CaseState.ASSIGNED: "已交办承办单位",
    CaseState.IN_PROGRESS: "承办单位正在办理",
    CaseState.RETURNED: "正在重新安排承办单位",
    CaseState.REPLIED: "承办单位已答复，正在审核",
    CaseState.CLOSED: "已办结",
    CaseState.REOPENED: "正在重新办理",
}


# --- Followers and messages -----------------------------------------------------------


def citizen_for_openid(openid: str) -> User | None:
    return User.objects.filter(wechat_openid=openid, is_active=True).first() if openid else None


def get_or_create_wechat_citizen(openid: str) -> User:
    """The citizen account behind a follower: created once, with the openid and no phone."""
    existing = User.objects.filter(wechat_openid=openid).first()
    if existing:
        return existing
    username = "wx" + hashlib.sha256(openid.encode()).hexdigest()[:16]
    citizen = User(username=username, is_citizen=True, wechat_openid=openid, display_name="微信用户")
    citizen.set_unusable_password()
    try:
        with transaction.atomic():
            citizen.save()
    except IntegrityError:
        return User.objects.get(wechat_openid=openid)
    audit.record("citizen_created", target=username, payload={"channel": "wechat"})
    return citizen


def message_key(message: dict[str, str]) -> str:
    """MsgId for messages; FromUserName + CreateTime (+ Event) for events, as WeChat documents."""
    if message.get("MsgId"):
        return message["MsgId"][:128]
    return f"{message.get('FromUserName', '')}:{message.get('CreateTime', '')}:{message.get('Event', '')}"[:128]


def record_message(message: dict[str, str]) -> bool:
    """True the first time a message is seen; False for WeChat's retries of the same message."""
    try:
        with transaction.atomic():
            WeChatMessageLog.objects.create(
                msg_id=message_key(message),
                openid=message.get("FromUserName", "")[:64],
                msg_type=message.get("MsgType", "")[:20],
            )
    except IntegrityError:
        return False
    return True


def handle_message(message: dict[str, str]) -> str | None:
    """The passive reply's text for one message (None: reply nothing). Runs in the request's transaction."""
    openid = message.get("FromUserName", "")[:64]
    if not openid:
        return None
    handler = MESSAGE_HANDLERS.get(message.get("MsgType", ""), _on_other)
    return handler(openid, message)


def _on_text(openid: str, message: dict[str, str]) -> str:
    content = message.get("Content", "").strip()
    if match := QUERY.match(content):
        return case_status_text(openid, match[1])
    if content == "查询":
        return PROMPT_QUERY
    if content in CANCEL_WORDS:
        WeChatDraft.objects.filter(openid=openid).exclude(stage=Stage.SUBMITTING).delete()
        return "已取消。需要时请随时重新发送文字反映诉求。"
    draft = _current_draft(openid)
    if draft is None:
        if len(content) < MIN_FIRST_DESCRIPTION:
            _start_draft(openid)
            return PROMPT_DESCRIPTION
        draft = _start_draft(openid)
    return STAGE_HANDLERS[draft.stage](draft, content)


def _on_image(openid: str, message: dict[str, str]) -> str:
    media_id = message.get("MediaId", "")[:128]
    if not media_id:
        return HELP
    draft = _current_draft(openid)
    if draft is not None and draft.stage == Stage.SUBMITTING:
        return "正在提交您的诉求，请稍后再发送图片。"
    if draft is not None:
        media = draft.data.setdefault("media_ids", [])
        if len(media) >= MAX_IMAGES:
            return f"每件诉求最多附 {MAX_IMAGES} 张图片。"
        media.append(media_id)
        _save(draft)
        return f"已收到第 {len(media)} 张图片。" + _prompt_for(draft)
    case = recent_case(openid)
    if case is not None:
        _enqueue("attach_media", openid, case.pk, media_id)
        return f"已收到图片，正在补充到案件 {case.reference}。"
    return "请先用文字描述您的诉求，再发送图片作为材料。"


def _on_location(openid: str, message: dict[str, str]) -> str:
    draft = _current_draft(openid)
    if draft is None or draft.stage != Stage.LOCATION:
        return "已收到位置。请先用文字描述您的诉求。"
    try:
        lat, lng = float(message.get("Location_X", "")), float(message.get("Location_Y", ""))
    except ValueError:
        return _prompt_for(draft)
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        return _prompt_for(draft)
    unit = geo.nearest_unit(lat, lng)
    draft.data.update(latitude=lat, longitude=lng, address=message.get("Label", "")[:200])
    return _set_location(draft, unit)


def _on_event(openid: str, message: dict[str, str]) -> str | None:
    event = message.get("Event", "").lower()
    if event == "subscribe":
        return WELCOME
    if event == "click":
        return CLICK_HANDLERS.get(message.get("EventKey", "").upper(), lambda _openid: HELP)(openid)
    return None  # unsubscribe, VIEW (menu link), LOCATION reports, template send results


def _on_other(openid: str, message: dict[str, str]) -> str:
    return "暂不支持此类消息。" + HELP


# --- Menu ------------------------------------------------------------------------------


def _click_report(openid: str) -> str:
    WeChatDraft.objects.filter(openid=openid).exclude(stage=Stage.SUBMITTING).delete()
    _start_draft(openid)
    return PROMPT_DESCRIPTION


def _click_my_cases(openid: str) -> str:
    citizen = citizen_for_openid(openid)
    cases = list(cases_visible_to(citizen).order_by("-submitted_at")[:5]) if citizen else []
    if not cases:
        return "您还没有通过本公众号提交的诉求。发送文字即可开始反映。"
    lines = [f"{c.reference} {PLAIN_STATUS.get(c.state, c.get_state_display())} {c.title[:12]}" for c in cases]
    return "您最近的诉求：\n" + "\n".join(lines) + "\n回复“查询 案件编号”查看详情。"


def _click_query(openid: str) -> str:
    return PROMPT_QUERY


CLICK_HANDLERS: dict[str, Callable[[str], str]] = {
    "REPORT": _click_report,
    "MY_CASES": _click_my_cases,
    "QUERY": _click_query,
}


# --- Status query ------------------------------------------------------------------------


def case_status_text(openid: str, reference: str) -> str:
    """Anyone may learn a case's state from its reference; its owner also sees the unit, due date and reply."""
    reference = reference.strip().upper()
    citizen = citizen_for_openid(openid)
    own = resolve_reference(cases_visible_to(citizen), reference) if citizen else None
    if own is not None:
        return _owner_status(own)
    # Public answer: the state and the reference only, nothing about the petitioner or the content.
    public = Case.objects.filter(reference=reference).only("reference", "state").first()
    if public is None:
        return f"未找到案件 {reference}，请核对编号。"
    return f"案件 {public.reference}：{PLAIN_STATUS.get(public.state, public.get_state_display())}。"


def _owner_status(case: Case) -> str:
    lines = [
        f"案件 {case.reference}：{PLAIN_STATUS.get(case.state, case.get_state_display())}。",
        f"提交时间：{timezone.localtime(case.submitted_at):%Y-%m-%d}",
    ]
    if case.lead_unit_id:
        lines.append(f"承办单位：{case.lead_unit.name}")
    if case.handle_due and case.state not in (CaseState.CLOSED, CaseState.DECLINED, CaseState.MERGED):
        lines.append(f"办理期限：{timezone.localtime(case.handle_due):%Y-%m-%d}")
    if case.reply_text and case.state in (CaseState.REPLIED, CaseState.CLOSED):
        lines.append(f"答复：{case.reply_text[:200]}")
    if case.decline_reason and case.state == CaseState.DECLINED:
        lines.append(f"理由：{case.decline_reason[:200]}")
    return "\n".join(lines)


def recent_case(openid: str) -> Case | None:
    """The follower's case submitted through WeChat within the last hour, still open."""
    citizen = citizen_for_openid(openid)
    if citizen is None:
        return None
    return (
        cases_visible_to(citizen)
        .filter(channel=Channel.WECHAT, submitted_at__gte=timezone.now() - RECENT_CASE_WINDOW)
        .exclude(state__in=(CaseState.DECLINED, CaseState.MERGED, CaseState.CLOSED))
        .order_by("-submitted_at")
        .first()
    )


# --- The draft conversation ------------------------------------------------------------


def _current_draft(openid: str) -> WeChatDraft | None:
    """The follower's draft, locked for this request; an abandoned one is dropped."""
    draft = WeChatDraft.objects.select_for_update().filter(openid=openid).first()
    if draft is None:
        return None
    age = timezone.now() - draft.updated_at
    if draft.stage == Stage.SUBMITTING and age > SUBMIT_STALE_AFTER:
        draft.stage = Stage.CONFIRM  # the submission task died: let the follower confirm again
        _save(draft)
    elif draft.stage != Stage.SUBMITTING and age > DRAFT_TTL:
        draft.delete()
        return None
    return draft


def _start_draft(openid: str) -> WeChatDraft:
    draft, _ = WeChatDraft.objects.update_or_create(
        openid=openid, defaults={"stage": Stage.DESCRIPTION, "data": {}, "updated_at": timezone.now()}
    )
    return draft


def _save(draft: WeChatDraft) -> None:
    draft.updated_at = timezone.now()
    draft.save()


def _prompt_for(draft: WeChatDraft) -> str:
    return {
        Stage.DESCRIPTION: PROMPT_DESCRIPTION,
        Stage.LOCATION: "请告诉我们事情发生在哪个乡镇（街道），如“柳泉镇”，也可以发送位置。",
        Stage.NAME: "请回复您的姓名；如希望匿名反映，请回复“匿名”。",
        Stage.CONFIRM: "确认提交请回复1，重新填写请回复2，放弃请回复“取消”。",
        Stage.SUBMITTING: "正在提交，请稍候。",
    }[draft.stage]


def _stage_description(draft: WeChatDraft, content: str) -> str:
    description = (draft.data.get("description", "") + "\n" + content).strip()[:MAX_DESCRIPTION]
    draft.data["description"] = description
    if len(description) >= MIN_DESCRIPTION:
        draft.stage = Stage.LOCATION
    _save(draft)
    if draft.stage == Stage.DESCRIPTION:
        return "请再详细描述一下（不少于5个字）。"
    return "收到。" + _prompt_for(draft)


def _stage_location(draft: WeChatDraft, content: str) -> str:
    unit = geo.match_township(content)
    if unit is None:
        names = "、".join(geo.township_names(limit=16))
        return f"没有找到“{content[:20]}”对应的乡镇（街道）。请从以下选择回复：{names}"
    draft.data["address"] = content[:200]
    return _set_location(draft, unit)


def _set_location(draft: WeChatDraft, unit: OrgUnit) -> str:
    draft.data.update(location_code=unit.code, location_name=unit.name)
    draft.stage = Stage.NAME
    _save(draft)
    return f"事发地：{unit.name}。" + _prompt_for(draft)


def _stage_name(draft: WeChatDraft, content: str) -> str:
    anonymous = content == "匿名"
    if not anonymous and not (1 <= len(content) <= 30 and not re.search(r"\d", content)):
        return "姓名格式不正确。" + _prompt_for(draft)
    draft.data.update(name="" if anonymous else content, anonymous=anonymous)
    draft.stage = Stage.CONFIRM
    _save(draft)
    return _summary(draft)


def _summary(draft: WeChatDraft) -> str:
    data = draft.data
    lines = [
        "请确认您的诉求：",
        f"内容：{data.get('description', '')[:100]}",
        f"事发地：{data.get('location_name', '')}",
        f"姓名：{'匿名' if data.get('anonymous') else data.get('name', '')}",
    ]
    if data.get("media_ids"):
        lines.append(f"图片：{len(data['media_ids'])} 张")
    return "\n".join(lines) + "\n" + _prompt_for(draft)


def _stage_confirm(draft: WeChatDraft, content: str) -> str:
    if content == "1":
        draft.stage = Stage.SUBMITTING
        _save(draft)
        _enqueue("submit_report", draft.openid)
        return "正在提交…提交成功后将发送案件编号和查询码给您。"
    if content == "2":
        draft.stage, draft.data = Stage.DESCRIPTION, {}
        _save(draft)
        return PROMPT_DESCRIPTION
    return _summary(draft)


def _stage_submitting(draft: WeChatDraft, content: str) -> str:
    return _prompt_for(draft)


STAGE_HANDLERS: dict[str, Callable[[WeChatDraft, str], str]] = {
    Stage.DESCRIPTION: _stage_description,
    Stage.LOCATION: _stage_location,
    Stage.NAME: _stage_name,
    Stage.CONFIRM: _stage_confirm,
    Stage.SUBMITTING: _stage_submitting,
}
MESSAGE_HANDLERS: dict[str, Callable[[str, dict[str, str]], str | None]] = {
    "text": _on_text,
    "image": _on_image,
    "location": _on_location,
    "event": _on_event,
}


def _enqueue(task_name: str, *args) -> None:
    """Enqueue one of this app's tasks once the current transaction commits."""
    from minqing.intake.wechat import tasks

    task = getattr(tasks, task_name)
    transaction.on_commit(lambda: task.enqueue(*args))


# --- Work done by tasks -----------------------------------------------------------------


def _download(client: WeChatClient, media_ids: list[str]) -> tuple[list[UploadedFile], int]:
    """Images that downloaded and passed the attachment check, and how many did not."""
    good, failed = [], 0
    for media_id in media_ids:
        try:
            media = client.get_media(media_id)
            upload = UploadedFile(media.filename, media.content)
            check_uploads([upload])
        except (WeChatApiError, AttachmentRefused, OSError) as exc:
            logger.warning("WeChat media %s not attached: %s", media_id, exc)
            failed += 1
            continue
        good.append(upload)
    return good, failed


def submit_draft(openid: str, client: WeChatClient | None = None) -> Case | None:
    """Register the confirmed draft as a case (once: the draft is deleted in the same transaction)."""
    draft = WeChatDraft.objects.filter(openid=openid, stage=Stage.SUBMITTING).first()
    if draft is None:
        return None
    client = client or WeChatClient.from_settings()
    uploads, failed = _download(client, draft.data.get("media_ids", []))
    try:
        with transaction.atomic():
            case = _register(openid, uploads, failed)
    except DomainError as exc:
        WeChatDraft.objects.filter(openid=openid, stage=Stage.SUBMITTING).update(
            stage=Stage.CONFIRM, updated_at=timezone.now()
        )
        send_text_quietly(client, openid, f"提交未成功：{exc.message}。请回复1重试，或回复“取消”。")
        return None
    if case is not None:
        send_text_quietly(client, openid, receipt_text(case))
    return case


def _register(openid: str, uploads: list[UploadedFile], failed: int) -> Case | None:
    draft = WeChatDraft.objects.select_for_update().filter(openid=openid, stage=Stage.SUBMITTING).first()
    if draft is None:  # another worker submitted it meanwhile
        return None
    data = draft.data
    citizen = get_or_create_wechat_citizen(openid)
    description = data.get("description", "")
    if failed:
        description += f"\n（另有 {failed} 张图片未能保存）"
    case = register_case(
        NewCase(
            channel=Channel.WECHAT,
            title=description.splitlines()[0][:30] if description else "微信反映",
            content=description,
            location_unit=OrgUnit.objects.get(code=data["location_code"]),
            address=data.get("address", ""),
            latitude=data.get("latitude"),
            longitude=data.get("longitude"),
            is_anonymous=bool(data.get("anonymous")),
            citizen=citizen,
            parties=[] if data.get("anonymous") else [PartyInput(name=data.get("name", ""))],
            attachments=uploads,
        ),
        citizen,
    )
    draft.delete()
    return case


def receipt_text(case: Case) -> str:
    return (
        f"您的诉求已提交，案件编号 {case.reference}，查询码 {case.query_code}。"
        f"回复“查询 {case.reference}”可随时查看办理进度；继续发送图片可补充材料（1小时内）。"
    )


def attach_media_to_case(openid: str, case_id: int, media_id: str, client: WeChatClient | None = None) -> bool:
    """Download an image the follower sent after submitting, and add it to their case."""
    client = client or WeChatClient.from_settings()
    citizen = citizen_for_openid(openid)
    if citizen is None:
        return False
    uploads, failed = _download(client, [media_id])
    if failed:
        send_text_quietly(client, openid, "图片未能保存（格式不受支持或已过期），请重新发送。")
        return False
    try:
        add_information(case_id, citizen, text="微信补充图片", attachments=uploads)
    except DomainError as exc:
        send_text_quietly(client, openid, f"图片未能补充：{exc.message}")
        return False
    return True


def send_text_quietly(client: WeChatClient, openid: str, text: str) -> bool:
    """Customer-service message; a failure is logged (the follower can still query the case)."""
    try:
        client.send_text(openid, text)
    except Exception:
        logger.warning("WeChat customer-service message to %s failed", openid, exc_info=True)
        return False
    return True
