// `mcpfleet:audit`: the deployed controller's audit log (issue 10, controller/audit/). Each
// value is checked with the controller's own parser, so what `pulumi preview` accepts, the pod
// accepts at start; a key left out keeps the controller's default (retention 30 days).
import { z } from 'zod';
import { parseRetention } from '../controller/audit/audit-duration.ts';

const NO_UNIT =
  'expected a duration with its unit, such as "90d" or "12h" (a bare number has none; 0 keeps every record)';

/** What MCPFLEET_AUDIT_RETENTION is given: the text as written, once the controller's parser took it. */
const retention = z
  .union([z.string(), z.literal(0)], { error: NO_UNIT })
  .transform((value, ctx) => {
    const text = String(value).trim();
    try {
      parseRetention(text);
      return text;
    } catch (err) {
      ctx.addIssue({
        code: 'custom',
        message: `${(err as Error).message}, or 0 to keep every record`,
      });
      return z.NEVER;
    }
  });

const auditFields = z.strictObject({
  /** How long audit records are kept (MCPFLEET_AUDIT_RETENTION); absent: the controller's 30d. */
  retention: retention.optional(),
});

export const AUDIT_KEYS = Object.keys(auditFields.shape);

export const auditConfig = auditFields.prefault({});

export type AuditConfig = z.infer<typeof auditConfig>;
