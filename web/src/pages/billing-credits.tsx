/**
 * "Add credits" on the billing page. With Stripe: the owner picks a pack or a
 * custom amount and is sent to Stripe Checkout; credits arrive with Stripe's
 * webhook, so coming back only shows a notice and refreshes the balance.
 * Without Stripe: how the instance operator grants credits (the CLI command).
 * Admins see the page read-only.
 */
import {
  Alert,
  Button,
  Code,
  Group,
  Modal,
  Paper,
  SegmentedControl,
  Stack,
  Text,
  TextInput,
  Title,
} from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { useSearchParams } from "react-router";
import { api, type BillingSummary, formErrors, orgUrl } from "../api";
import { useCan, useCurrentOrg } from "../session";

interface CheckoutOptions {
  stripeConfigured: boolean;
  packsUsd: string[];
  minUsd: string;
  maxUsd: string;
  currency: "usd";
  addCredits: string;
}

const short = (v: string) => v.replace(/\.?0+$/, "");

/** Notices for the return from Stripe (?checkout=… / ?setup=…); refreshes billing data while the webhook lands. */
export function StripeReturnNotice() {
  const org = useCurrentOrg()!;
  const [params, setParams] = useSearchParams();
  const qc = useQueryClient();
  const checkout = params.get("checkout");
  const setup = params.get("setup");
  useEffect(() => {
    if (checkout !== "success" && setup !== "success") return;
    const timers = [2_000, 6_000, 15_000].map((ms) =>
      setTimeout(() => qc.invalidateQueries({ queryKey: ["org", org.slug] }), ms),
    );
    return () => timers.forEach(clearTimeout);
  }, [checkout, setup, org.slug, qc]);
  if (!checkout && !setup) return null;
  const dismiss = () => setParams({}, { replace: true });
  const [color, title, text] =
    checkout === "success"
      ? [
          "green",
          "Payment received",
          "Your credits appear as soon as Stripe confirms the payment, usually within seconds. Bank payments can take a few days.",
        ]
      : checkout === "cancelled"
        ? ["gray", "Checkout cancelled", "Nothing was charged."]
        : setup === "success"
          ? ["green", "Card saved", "The card appears under Payment methods in a moment."]
          : ["gray", "Card not added", "Nothing was saved."];
  return (
    <Alert color={color} title={title} withCloseButton onClose={dismiss} data-testid="stripe-return-notice">
      {text}
    </Alert>
  );
}

export function AddCredits({ summary }: { summary: BillingSummary }) {
  const org = useCurrentOrg()!;
  const canManage = useCan(["billing", "manage"]);
  const [open, setOpen] = useState(false);
  if (!summary.stripeConfigured) {
    return (
      <Alert color="gray" title="Add credits" data-testid="add-credits-offline">
        <Stack gap="xs">
          <Text size="sm">
            Card payments are not configured on this server. The instance operator adds credits from the command line:
          </Text>
          <Code block>{`npx tollgate credits grant --org ${org.slug} --usd 25 --note "why"`}</Code>
          <Text size="xs" c="dimmed">
            Credits belong to {org.name} only; they are never shared with your other organizations.
          </Text>
        </Stack>
      </Alert>
    );
  }
  return (
    <Paper withBorder p="md" data-testid="add-credits">
      <Group justify="space-between" align="center">
        <Stack gap={2}>
          <Title order={3}>Add credits</Title>
          <Text size="sm" c="dimmed">
            {canManage
              ? "Pay by card with Stripe. Credits belong to this organization only."
              : "Only the owner of this organization can add credits."}
          </Text>
        </Stack>
        {canManage && <Button onClick={() => setOpen(true)}>Add credits</Button>}
      </Group>
      {canManage && <AddCreditsModal org={org.slug} opened={open} onClose={() => setOpen(false)} />}
    </Paper>
  );
}

function AddCreditsModal({ org, opened, onClose }: { org: string; opened: boolean; onClose: () => void }) {
  const options = useQuery({
    queryKey: ["org", org, "checkout-options"],
    queryFn: () => api.get<CheckoutOptions>(orgUrl(org, "/billing/checkout")),
    enabled: opened,
  });
  const [choice, setChoice] = useState<string>("25");
  const [custom, setCustom] = useState("");
  const [error, setError] = useState<string | null>(null);
  const amount = choice === "custom" ? custom.trim() : choice;
  const pay = useMutation({
    mutationFn: () => api.post<{ id: string; url: string }>(orgUrl(org, "/billing/checkout"), { amountUsd: amount }),
    onSuccess: (r) => window.location.assign(r.url),
    onError: (err) => setError(formErrors(err, ["amountUsd"]).fields.amountUsd ?? formErrors(err, []).general),
  });
  const packs = options.data?.packsUsd ?? ["10", "25", "50", "100"];
  return (
    <Modal opened={opened} onClose={onClose} title="Add credits">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setError(null);
          pay.mutate();
        }}
      >
        <Stack>
          <SegmentedControl
            aria-label="Amount"
            value={choice}
            onChange={setChoice}
            data={[...packs.map((p) => ({ value: p, label: `$${p}` })), { value: "custom", label: "Custom" }]}
          />
          {choice === "custom" && (
            <TextInput
              label="Amount (USD)"
              description={
                options.data
                  ? `Between $${short(options.data.minUsd)} and $${short(options.data.maxUsd)}, whole cents.`
                  : undefined
              }
              placeholder="e.g. 40"
              value={custom}
              onChange={(e) => setCustom(e.currentTarget.value)}
              data-autofocus
            />
          )}
          {error && (
            <Text c="red" size="sm" role="alert">
              {error}
            </Text>
          )}
          <Text size="xs" c="dimmed">
            You will pay on Stripe's secure page and come back here. Credits are added when Stripe confirms the payment.
          </Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={pay.isPending} disabled={!amount}>
              Continue to payment{amount && /^\d+(\.\d{1,2})?$/.test(amount) ? ` ($${amount})` : ""}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
