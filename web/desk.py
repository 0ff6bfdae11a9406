"""The curator's desk beyond one item at a time: deciding the rest of a section at once."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, HTTPException, Request

from signpost.store.digests import DigestLockedError, decide_item, load_items
from signpost.store.users import User
from signpost.web.pages import check_csrf, require_user, web
from signpost.web.review import _digest, _done, _locked, _topic

router = APIRouter(prefix="/review", dependencies=[Depends(check_csrf)])


@router.post("/digests/{digest_id}/topics/{topic_id}/decide-rest")
def decide_rest(
    request: Request, digest_id: int, topic_id: int, state: str = Form(...), user: User = Depends(require_user)
):
    """Approve or reject every item of a section that is still proposed; decided ones keep their decision."""
    digest, community = _digest(request, user, digest_id)
    topic = _topic(community, topic_id)
    if state not in ("approved", "rejected"):
        raise HTTPException(status_code=400, detail="Unknown decision.")
    engine = web(request).engine
    rest = [item.id for item in load_items(engine, digest.id, ("proposed",)) if item.topic_id == topic_id]
    try:
        for item_id in rest:
            decide_item(engine, item_id, state, actor=user.label)
    except DigestLockedError as error:
        return _locked(request, digest.id, error)
    verb = "Approved" if state == "approved" else "Rejected"
    plural = "s" if len(rest) != 1 else ""
    return _done(
        request, digest.id, f"topic-{topic_id}", flash=f"{verb} the {len(rest)} item{plural} left in {topic.name}."
    )
