-- A card typed on the payment page with "save this card" unticked is vaulted only to make that
-- charge. The payment remembers to forget it once the charge has its final answer, whichever path
-- brings that answer (the request itself, 3-D Secure, the reconciler, a webhook); the worker sweeps
-- what is left.
ALTER TABLE payments ADD COLUMN forget_method INTEGER NOT NULL DEFAULT 0 CHECK (forget_method IN (0, 1));
CREATE INDEX payments_forget_method ON payments(status) WHERE forget_method = 1;
