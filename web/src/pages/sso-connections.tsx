/**
 * The identity provider connections of the SSO settings form: OpenID Connect (issuer, client id, write-only
 * client secret, optional discovery URL) and SAML 2.0 (the IdP's metadata, pasted or by URL). Each section shows
 * what to configure at the identity provider once the server has the connection: the OIDC redirect URI; the
 * SAML service provider entity id, ACS URL and metadata URL.
 *
 * Invariants: every control has a label (its accessible name); `readOnly` disables them all (admins read).
 */
import {
  Divider,
  Paper,
  SegmentedControl,
  Stack,
  Switch,
  Text,
  Textarea,
  TextInput,
  PasswordInput,
  Title,
} from "@mantine/core";
import type { UseFormReturnType } from "@mantine/form";
import { CopyField } from "./sso-domains";
import type { SsoFormValues, SsoSettings } from "./sso-form";

type Form = UseFormReturnType<SsoFormValues>;

export function OidcSection({ form, saved, readOnly }: { form: Form; saved: SsoSettings; readOnly: boolean }) {
  const on = form.values.oidcOn;
  return (
    <Paper withBorder p="lg">
      <Stack>
        <Title order={4}>OpenID Connect</Title>
        <Switch
          label="Use OpenID Connect"
          description="Okta, Microsoft Entra ID, Google Workspace, Keycloak and most identity providers speak it."
          disabled={readOnly}
          {...form.getInputProps("oidcOn", { type: "checkbox" })}
        />
        {on && (
          <>
            <TextInput
              label="Issuer URL"
              placeholder="https://login.example.com"
              required
              disabled={readOnly}
              {...form.getInputProps("oidc.issuer")}
            />
            <TextInput label="Client id" required disabled={readOnly} {...form.getInputProps("oidc.clientId")} />
            <PasswordInput
              label="Client secret"
              placeholder={saved.oidc ? "stored — leave empty to keep" : undefined}
              description={
                saved.oidc
                  ? "Needed again only when the issuer, client id or discovery URL changes."
                  : "From the identity provider's application settings. Stored encrypted; never shown again."
              }
              required={!saved.oidc}
              autoComplete="off"
              disabled={readOnly}
              {...form.getInputProps("oidc.clientSecret")}
            />
            <TextInput
              label="Discovery URL"
              placeholder="<issuer>/.well-known/openid-configuration"
              description="Optional: only when the provider's discovery document is not at the standard place."
              disabled={readOnly}
              {...form.getInputProps("oidc.discoveryUrl")}
            />
          </>
        )}
        {saved.oidc ? (
          <>
            <Divider />
            <CopyField label="Redirect URI" value={saved.oidc.redirectUri} testId="oidc-redirect-uri" />
            <Text size="xs" c="dimmed">
              Register this redirect URI with the application at your identity provider.
            </Text>
          </>
        ) : (
          on && (
            <Text size="xs" c="dimmed">
              The redirect URI to register at the identity provider appears here once the connection is saved.
            </Text>
          )
        )}
      </Stack>
    </Paper>
  );
}

export function SamlSection({ form, saved, readOnly }: { form: Form; saved: SsoSettings; readOnly: boolean }) {
  const on = form.values.samlOn;
  const source = form.values.saml.source;
  return (
    <Paper withBorder p="lg">
      <Stack>
        <Title order={4}>SAML 2.0</Title>
        <Switch
          label="Use SAML"
          description={
            saved.saml
              ? `Connected${saved.saml.idpEntityId ? ` to ${saved.saml.idpEntityId}` : ""}. Saving sends the identity provider's metadata again, so give it below.`
              : "For identity providers that offer SAML only (ADFS, older Okta and OneLogin setups)."
          }
          disabled={readOnly}
          {...form.getInputProps("samlOn", { type: "checkbox" })}
        />
        {on && !readOnly && (
          <>
            <SegmentedControl
              aria-label="How to give the SAML metadata"
              data={[
                { value: "xml", label: "Paste metadata XML" },
                { value: "url", label: "Metadata URL" },
              ]}
              w="fit-content"
              {...form.getInputProps("saml.source")}
            />
            {source === "xml" ? (
              <Textarea
                label="IdP metadata XML"
                placeholder="<EntityDescriptor …>"
                autosize
                minRows={4}
                maxRows={12}
                styles={{ input: { fontFamily: "monospace", fontSize: 12 } }}
                {...form.getInputProps("saml.metadataXml")}
              />
            ) : (
              <TextInput
                label="IdP metadata URL"
                placeholder="https://idp.example.com/metadata.xml"
                description="Fetched once, when you save."
                {...form.getInputProps("saml.metadataUrl")}
              />
            )}
          </>
        )}
        {saved.saml && (
          <>
            <Divider />
            {saved.saml.idpSsoUrl && (
              <Text size="sm">
                Identity provider sign-in URL:{" "}
                <Text span ff="monospace">
                  {saved.saml.idpSsoUrl}
                </Text>
              </Text>
            )}
            <CopyField label="SP entity id" value={saved.saml.spEntityId} testId="saml-sp-entity-id" />
            <CopyField label="ACS URL" value={saved.saml.acsUrl} testId="saml-acs-url" />
            <CopyField label="SP metadata URL" value={saved.saml.spMetadataUrl} testId="saml-sp-metadata-url" />
            <Text size="xs" c="dimmed">
              Configure these at your identity provider (or give it the SP metadata URL). Assertions must be signed.
            </Text>
          </>
        )}
      </Stack>
    </Paper>
  );
}
