"""WeChat message XML: parsed safely (no DTD, no entities, bounded size), replies rendered.

A message is a flat `<xml>` element with text children (ToUserName, FromUserName,
CreateTime, MsgType, Content, MsgId, Event, EventKey, MediaId, …).
"""

from __future__ import annotations

import time
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from minqing.intake.wechat.crypto import Refused

MAX_FIELDS = 40
MAX_FIELD_CHARS = 8192


def parse_xml(body: bytes | str) -> dict[str, str]:
    """A flat dict of the `<xml>` element's children; `Refused` (400) for anything else.

    defusedxml refuses DTDs outright (forbid_dtd), so billion-laughs and external-entity
    payloads fail before any entity is expanded or fetched.
    """
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise Refused("XML 含有 DTD 或实体声明，已拒绝") from exc
    except (ParseError, ValueError, TypeError, UnicodeError) as exc:
        raise Refused("XML 格式错误") from exc
    if root.tag != "xml":
        raise Refused("XML 根元素应为 <xml>")
    children = list(root)
    if len(children) > MAX_FIELDS:
        raise Refused("XML 字段过多")
    fields: dict[str, str] = {}
    for child in children:
        if not isinstance(child.tag, str) or len(child) > 0:
            raise Refused("XML 结构不符合微信消息格式")
        text = (child.text or "").strip()
        if len(text) > MAX_FIELD_CHARS:
            raise Refused("XML 字段过长")
        fields[child.tag] = text
    return fields


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply(message: dict[str, str], content: str, *, now: float | None = None) -> str:
    """A passive text reply to `message` (to and from swapped)."""
    created = int(time.time() if now is None else now)
    return (
        f"<xml><ToUserName>{_cdata(message.get('FromUserName', ''))}</ToUserName>"
        f"<FromUserName>{_cdata(message.get('ToUserName', ''))}</FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{_cdata(content)}</Content></xml>"
    )
