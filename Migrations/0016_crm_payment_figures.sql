-- The CRM's own record of what was paid. `crm_amount_paid` is Invoice.PaymentAmount as the portal
-- last saw it in Creatio or last pushed it; `crm_portal_amount_paid` is the portal's amount_paid at
-- that moment. A pull or a push that finds a different PaymentAmount in Creatio knows someone
-- recorded (or removed) a payment there; the push sends the CRM's figure moved by what changed in
-- the portal since, so a payment recorded in Creatio is never erased. NULL: not yet seen.
ALTER TABLE invoices ADD COLUMN crm_amount_paid INTEGER;
ALTER TABLE invoices ADD COLUMN crm_portal_amount_paid INTEGER;
-- Where nothing is waiting to be pushed, Creatio already shows the portal's figure (it seeded it,
-- or the last push wrote it); where something is, the first look at Creatio sets the baseline.
UPDATE invoices SET crm_amount_paid = amount_paid, crm_portal_amount_paid = amount_paid
WHERE external_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM crm_outbox o WHERE o.invoice_id = invoices.id AND o.status IN ('pending', 'dead')
                  AND o.topic IN ('payment.result', 'payment.refund'));

-- A pusher's claim: the random token of the claim that holds the row, checked when its result is
-- recorded, so a pusher whose lease ran out and was taken over cannot mark the row.
ALTER TABLE crm_outbox ADD COLUMN lease_token TEXT;

-- A live link's token is never kept at rest: a link row names the link, and the push rebuilds its
-- URL. Rows written before hold the URL (…/pay/{key id}.{link id}.{signature}): the link id is kept,
-- the URL dropped.
UPDATE crm_outbox
SET payload = json_set(json_remove(payload, '$.url'), '$.link_id',
        substr(substr(json_extract(payload, '$.url'), instr(json_extract(payload, '$.url'), '/pay/') + 5),
               instr(substr(json_extract(payload, '$.url'), instr(json_extract(payload, '$.url'), '/pay/') + 5), '.') + 1,
               instr(substr(substr(json_extract(payload, '$.url'), instr(json_extract(payload, '$.url'), '/pay/') + 5),
                            instr(substr(json_extract(payload, '$.url'), instr(json_extract(payload, '$.url'), '/pay/') + 5), '.') + 1), '.') - 1))
WHERE topic = 'invoice.link' AND json_extract(payload, '$.url') LIKE '%/pay/%.%.%';
UPDATE crm_outbox SET payload = json_remove(payload, '$.url') WHERE topic = 'invoice.link' AND json_extract(payload, '$.url') IS NOT NULL;
