/**
 * Log destinations (org settings, owners and admins): the organization's
 * request-log rows streamed to signed webhooks. Each destination shows its
 * delivery status — delivered up to, rows waiting, dead letters, the last
 * error — refreshed every few seconds; a new destination's signing secret is
 * shown exactly once with a copy button; destinations can be paused, resumed
 * and deleted.
 */
import {
  Alert,
  Badge,
  Button,
  Code,
  CopyButton,
  Group,
  Modal,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
  Tooltip,
} from "@mantine/core";
import { useForm } from "@mantine/form";
import { useDisclosure } from "@mantine/hooks";
import { notifications } from "@mantine/notifications";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, formErrors, orgUrl } from "../api";
import { useRemoval } from "../removal";
import { dateTime, num } from "../format";
import { PageLoader, QueryError, useCan, useCurrentOrg } from "../session";
import { FormFooter } from "../form-footer";

interface Destination {
  id: string;
  kind: "webhook";
  url: string;
  enabled: boolean;
  secretHint: string;
  createdAt: string;
  status: {
    state: "delivering" | "retrying" | "paused";
    deliveredThrough: string;
    longRequestsThrough: string;
    quickSeconds: number;
    deliveredRows: number;
    lastDeliveryAt: string | null;
    backlog: number;
    deadLetteredRows: number;
    deadLetteredBatches: number;
    failures: number;
    nextAttemptAt: string | null;
    lastError: string | null;
    lastErrorAt: string | null;
  };
}
type CreatedDestination = Destination & { secret: string };

const STATE_COLOR = { delivering: "green", retrying: "orange", paused: "gray" } as const;

export function LogDestinationsPage() {
  const org = useCurrentOrg()!;
  const canManage = useCan(["logDestination", "manage"]);
  const qc = useQueryClient();
  const [createOpen, create] = useDisclosure(false);
  const [created, setCreated] = useState<CreatedDestination | null>(null);
  const [deleting, setDeleting] = useState<Destination | null>(null);
  const queryKey = ["org", org.slug, "log-destinations"];
  const list = useQuery({
    queryKey,
    queryFn: () => api.get<{ destinations: Destination[] }>(orgUrl(org.slug, "/log-destinations")),
    refetchInterval: 5_000,
  });
  const toggle = useMutation({
    mutationFn: (d: Destination) =>
      api.patch<Destination>(orgUrl(org.slug, `/log-destinations/${d.id}`), { enabled: !d.enabled }),
    onSuccess: () => qc.invalidateQueries({ queryKey }),
    onError: (err) => notifications.show({ color: "red", message: err.message }),
  });
  const remove = useRemoval({
    url: (id) => orgUrl(org.slug, `/log-destinations/${id}`),
    done: "Log destination deleted. Delivery stopped.",
    queryKey,
    onDone: () => setDeleting(null),
  });

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={3}>Log destinations</Title>
        {canManage && <Button onClick={create.open}>Add destination</Button>}
      </Group>
      <Text size="sm" c="dimmed">
        Every request logged in this organization is POSTed to these webhooks in signed JSON batches, at least once and
        in order. Receivers deduplicate by <Code>requestId</Code>. Requests that ran longer than a few seconds follow a
        few minutes later; bodies are included only for projects that store them.
      </Text>
      {created && <NewSecret created={created} onDone={() => setCreated(null)} />}
      {list.isPending ? (
        <PageLoader />
      ) : list.error ? (
        <QueryError error={list.error} retry={() => list.refetch()} />
      ) : list.data.destinations.length === 0 ? (
        <Text data-testid="log-destinations-empty">
          No log destinations yet.
          {canManage
            ? " Add destination sends every request's log record to your own endpoint, signed, as it happens."
            : " An owner or admin can send request logs to your own endpoint."}
        </Text>
      ) : (
        <DestinationTable
          destinations={list.data.destinations}
          canManage={canManage}
          onToggle={(d) => toggle.mutate(d)}
          onDelete={setDeleting}
        />
      )}
      <CreateModal
        org={org.slug}
        opened={createOpen}
        onClose={create.close}
        onCreated={(d) => {
          setCreated(d);
          create.close();
        }}
      />
      <Modal opened={!!deleting} onClose={() => setDeleting(null)} title="Delete log destination">
        <Stack>
          <Text>
            Stop streaming logs to <Code>{deleting?.url}</Code>? Rows not yet delivered are not sent; this cannot be
            undone.
          </Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setDeleting(null)}>
              Cancel
            </Button>
            <Button color="red" loading={remove.isPending} onClick={() => deleting && remove.mutate(deleting.id)}>
              Delete
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Stack>
  );
}

function DestinationTable(props: {
  destinations: Destination[];
  canManage: boolean;
  onToggle: (d: Destination) => void;
  onDelete: (d: Destination) => void;
}) {
  return (
    <Table.ScrollContainer minWidth={900}>
      <Table striped aria-label="Log destinations">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Webhook</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Delivered up to</Table.Th>
            <Table.Th>Backlog</Table.Th>
            <Table.Th>Dead letters</Table.Th>
            <Table.Th>Last error</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {props.destinations.map((d) => (
            <Table.Tr key={d.id} data-testid={`log-destination-${d.id}`}>
              <Table.Td>
                <Text size="sm" style={{ wordBreak: "break-all" }}>
                  {d.url}
                </Text>
                <Text size="xs" c="dimmed">
                  Secret <Code>{d.secretHint}</Code>
                </Text>
              </Table.Td>
              <Table.Td>
                <Badge color={STATE_COLOR[d.status.state]} variant="light">
                  {d.status.state}
                </Badge>
                {d.status.failures > 0 && d.status.nextAttemptAt && (
                  <Text size="xs" c="dimmed">
                    attempt {d.status.failures + 1} at {dateTime(d.status.nextAttemptAt)}
                  </Text>
                )}
              </Table.Td>
              <Table.Td>
                <Tooltip
                  label={`Requests that ran up to ${d.status.quickSeconds} s; longer ones up to ${dateTime(d.status.longRequestsThrough)}`}
                >
                  <Text size="sm">{dateTime(d.status.deliveredThrough)}</Text>
                </Tooltip>
                <Text size="xs" c="dimmed">
                  {num(d.status.deliveredRows)} rows
                  {d.status.lastDeliveryAt ? `, last sent ${dateTime(d.status.lastDeliveryAt)}` : ", none sent yet"}
                </Text>
              </Table.Td>
              <Table.Td>{d.status.backlog >= 100_000 ? "100,000+" : num(d.status.backlog)}</Table.Td>
              <Table.Td>
                <Text size="sm" c={d.status.deadLetteredRows > 0 ? "red" : undefined}>
                  {num(d.status.deadLetteredRows)}
                </Text>
                {d.status.deadLetteredBatches > 0 && (
                  <Text size="xs" c="dimmed">
                    in {num(d.status.deadLetteredBatches)} batches
                  </Text>
                )}
              </Table.Td>
              <Table.Td>
                {d.status.lastError ? (
                  <>
                    <Text size="sm" c={d.status.failures > 0 ? "red" : "dimmed"}>
                      {d.status.lastError}
                    </Text>
                    {d.status.lastErrorAt && (
                      <Text size="xs" c="dimmed">
                        {dateTime(d.status.lastErrorAt)}
                      </Text>
                    )}
                  </>
                ) : (
                  "—"
                )}
              </Table.Td>
              <Table.Td>
                {props.canManage && (
                  <Group gap={4} wrap="nowrap">
                    <Button size="xs" variant="subtle" onClick={() => props.onToggle(d)}>
                      {d.enabled ? "Pause" : "Resume"}
                    </Button>
                    <Button size="xs" variant="subtle" color="red" onClick={() => props.onDelete(d)}>
                      Delete
                    </Button>
                  </Group>
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

function NewSecret({ created, onDone }: { created: CreatedDestination; onDone: () => void }) {
  return (
    <Alert color="green" title="Destination added — copy its signing secret now" data-testid="new-log-destination">
      <Stack gap="sm">
        <Text size="sm">
          This is the only time the secret is shown. Check the <Code>tollgate-signature</Code> header of every batch
          with it: <Code>t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256(secret, "&lt;t&gt;.&lt;body&gt;")&gt;</Code>.
        </Text>
        <Group wrap="nowrap" align="center">
          <Code block style={{ flex: 1, wordBreak: "break-all" }} data-testid="new-log-destination-secret">
            {created.secret}
          </Code>
          <CopyButton value={created.secret}>
            {({ copied, copy }) => (
              <Button size="xs" color={copied ? "teal" : "indigo"} onClick={copy}>
                {copied ? "Copied" : "Copy"}
              </Button>
            )}
          </CopyButton>
        </Group>
        <Button size="xs" variant="light" w="fit-content" onClick={onDone}>
          I have stored the secret
        </Button>
      </Stack>
    </Alert>
  );
}

function CreateModal(props: {
  org: string;
  opened: boolean;
  onClose: () => void;
  onCreated: (d: CreatedDestination) => void;
}) {
  const qc = useQueryClient();
  const [general, setGeneral] = useState<string | null>(null);
  const form = useForm({
    initialValues: { url: "" },
    validate: { url: (v) => (v.trim() ? null : "URL is required.") },
  });
  const create = useMutation({
    mutationFn: (v: typeof form.values) =>
      api.post<CreatedDestination>(orgUrl(props.org, "/log-destinations"), { kind: "webhook", url: v.url.trim() }),
    onSuccess: async (d) => {
      form.reset();
      setGeneral(null);
      props.onCreated(d);
      await qc.invalidateQueries({ queryKey: ["org", props.org, "log-destinations"] });
    },
    onError: (err) => {
      const e = formErrors(err, ["url", "kind"]);
      form.setErrors(e.fields);
      setGeneral(e.general);
    },
  });
  return (
    <Modal opened={props.opened} onClose={props.onClose} title="Add log destination">
      <form onSubmit={form.onSubmit((v) => create.mutate(v))} noValidate>
        <Stack>
          <TextInput
            label="Webhook URL"
            description="Batches of rows are POSTed here, signed. Use https: the body is signed, not encrypted."
            placeholder="https://logs.example.com/tollgate"
            required
            data-autofocus
            {...form.getInputProps("url")}
          />
          <FormFooter
            error={general}
            onCancel={props.onClose}
            submitLabel="Add destination"
            loading={create.isPending}
          />
        </Stack>
      </form>
    </Modal>
  );
}
