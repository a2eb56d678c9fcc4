/**
 * The organization's saved SSO email domains, each with whether it is verified; for one that is not, the DNS
 * TXT record to publish (name and value, copyable) and, for the owner, a Verify button that asks the server to
 * look the record up now. Also `CopyField`, a labelled read-only value with a copy button, which the connection
 * sections use for the URLs to configure at the identity provider.
 *
 * Invariants: a failed check shows the server's message next to that domain (role="alert"); a successful one
 * replaces the cached settings with the server's answer.
 */
import { Badge, Button, Code, CopyButton, Group, Paper, Stack, Text } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, orgUrl } from "../api";
import type { SsoDomain, SsoSettings } from "./sso-form";

export function CopyField({ label, value, testId }: { label: string; value: string; testId?: string }) {
  return (
    <Stack gap={2}>
      <Text size="sm" fw={500}>
        {label}
      </Text>
      <Group wrap="nowrap" gap="xs" align="center">
        <Code block style={{ flex: 1, wordBreak: "break-all" }} data-testid={testId}>
          {value}
        </Code>
        <CopyButton value={value}>
          {({ copied, copy }) => (
            <Button
              size="xs"
              variant="light"
              color={copied ? "teal" : "indigo"}
              onClick={copy}
              aria-label={`Copy ${label}`}
            >
              {copied ? "Copied" : "Copy"}
            </Button>
          )}
        </CopyButton>
      </Group>
    </Stack>
  );
}

export function SsoDomainList(props: { org: string; domains: SsoDomain[]; canManage: boolean }) {
  if (props.domains.length === 0)
    return (
      <Text size="sm" c="dimmed" data-testid="sso-domains-empty">
        No domains saved yet. Add your email domains below and save; each then shows the DNS record that proves it.
      </Text>
    );
  return (
    <Stack gap="sm">
      {props.domains.map((d) => (
        <DomainRow key={d.domain} org={props.org} domain={d} canManage={props.canManage} />
      ))}
    </Stack>
  );
}

function DomainRow({ org, domain, canManage }: { org: string; domain: SsoDomain; canManage: boolean }) {
  const qc = useQueryClient();
  const verify = useMutation({
    mutationFn: () => api.post<SsoSettings>(orgUrl(org, `/sso/domains/${encodeURIComponent(domain.domain)}/verify`)),
    onSuccess: (view) => qc.setQueryData(["org", org, "sso"], view),
  });
  return (
    <Paper withBorder p="md" data-testid={`sso-domain-${domain.domain}`}>
      <Stack gap="sm">
        <Group justify="space-between">
          <Text fw={600}>{domain.domain}</Text>
          <Badge color={domain.verified ? "green" : "yellow"} variant="light">
            {domain.verified ? "Verified" : "Not verified"}
          </Badge>
        </Group>
        {!domain.verified && (
          <>
            <Text size="sm">
              Publish this DNS TXT record at your DNS provider to prove the organization owns {domain.domain}; people
              sign in with SSO once it is verified.
            </Text>
            <CopyField label="TXT record name" value={domain.txtRecord.record} testId="txt-record-name" />
            <CopyField label="TXT record value" value={domain.txtRecord.value} testId="txt-record-value" />
            {verify.error && (
              <Text c="red" size="sm" role="alert">
                {verify.error.message}
              </Text>
            )}
            {canManage && (
              <Button
                variant="light"
                w="fit-content"
                loading={verify.isPending}
                onClick={() => verify.mutate()}
                aria-label={`Verify ${domain.domain}`}
              >
                Verify
              </Button>
            )}
          </>
        )}
      </Stack>
    </Paper>
  );
}
