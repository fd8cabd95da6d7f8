-- Issuing a link finds its invoice by the portal id or by the CRM's id as Creatio spells it in any
-- case (a CRM or an API caller may send a GUID upper- or lower-cased); without an index in that
-- collation the lookup read the whole invoices table, up to 5,000 times a CRM pass.
CREATE INDEX invoices_external_id_nocase ON invoices(external_id COLLATE NOCASE);

-- The CRM pass asks, per invoice, whether its newest link was withdrawn: all of an invoice's links,
-- newest first (the partial index above covers live links only).
CREATE INDEX payment_links_invoice_created ON payment_links(invoice_id, created_at);

-- The integration alerts ask every minute for dead rows and the oldest pending one; delivered rows
-- are kept (they are the CRM's history), so without this both questions read the whole outbox.
CREATE INDEX crm_outbox_status ON crm_outbox(status, created_at);
