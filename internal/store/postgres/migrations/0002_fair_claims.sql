-- Fair claims (store.Share) walk the queue by organization: the
-- organizations with a pending turn, one probe each, then each one's oldest
-- pending turns in position order. This index replaces turns_pending, which
-- walked the whole queue in position order.
CREATE INDEX turns_pending_org ON turns (org_id, position) WHERE status = 'pending';
DROP INDEX turns_pending;
