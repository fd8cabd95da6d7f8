-- Refunds, voids and gateway webhooks.

-- A refund or void is written before the gateway is called, like a payment: the gateway gets the
-- row's id as its idempotency key, and the key of the form that asked for it makes a double submit
-- find the same row instead of refunding twice. 'pending' rows hold their amount back from further
-- refunds until the gateway's answer is recorded.
ALTER TABLE payment_refunds ADD COLUMN request_key TEXT;
ALTER TABLE payment_refunds ADD COLUMN status TEXT NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'succeeded', 'failed'));
ALTER TABLE payment_refunds ADD COLUMN error_message TEXT;
ALTER TABLE payment_refunds ADD COLUMN settled_at INTEGER;
CREATE UNIQUE INDEX payment_refunds_request_key ON payment_refunds(payment_id, request_key) WHERE request_key IS NOT NULL;

-- Set when the card's bank reports a dispute (chargeback), for staff to respond at the gateway.
ALTER TABLE payments ADD COLUMN disputed_at INTEGER;

-- What an event says beyond its kind, read from the signed body when it arrives: our idempotency
-- key for the charge (a charge whose answer was lost has no transaction id on the payment yet) and
-- the charge's refunded total so far, which makes refund events safe to apply in any order.
ALTER TABLE webhook_events ADD COLUMN payment_reference TEXT;
ALTER TABLE webhook_events ADD COLUMN amount_refunded INTEGER;
ALTER TABLE webhook_events ADD COLUMN currency TEXT;
-- No worker takes the event before this time: a claim's lease, or the back-off after a failed try.
ALTER TABLE webhook_events ADD COLUMN lease_until INTEGER;
