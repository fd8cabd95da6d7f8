-- A card typed through a payment link (`/pay/{token}`) belongs to whoever held the link, not to the
-- account: it is vaulted only to make that payment and forgotten once the payment has its answer.
-- The link it came through marks it, so it is never listed to the account's members, never made
-- the default and never charged by autopay or a payment plan.
ALTER TABLE payment_methods ADD COLUMN payment_link_id TEXT REFERENCES payment_links(id);

-- A second payment for an invoice is refused while one for it is still pending, so the pay form
-- looks up payments by invoice.
CREATE INDEX payment_requested_invoices_invoice ON payment_requested_invoices(invoice_id);
