/**
 * The first-run checklist's client: `GET /onboarding` (each step ticked from
 * the organization's real state, with whether the caller may do it and where)
 * and `POST /onboarding/dismiss` (hides the card for the caller only).
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, orgUrl } from "./api";

export type OnboardingStepId = "project" | "key" | "first_request" | "teammate" | "policy" | "credits";

export interface OnboardingStep {
  id: OnboardingStepId;
  done: boolean;
  /** The caller's role may do it; false: someone else must. */
  canDo: boolean;
  /** The dashboard path where it is done (only when `canDo`). */
  href?: string;
}

export interface Onboarding {
  steps: OnboardingStep[];
  dismissed: boolean;
  /** The first project the caller reaches: keys and the first-request snippet point at it. */
  project: { slug: string; name: string; defaultModel: string | null } | null;
}

export const onboardingKey = (org: string) => ["org", org, "onboarding"] as const;

/** Read again on every visit: the steps change on other pages (a project, a key) and through the API. */
export function useOnboarding(org: string) {
  return useQuery({
    queryKey: onboardingKey(org),
    queryFn: () => api.get<Onboarding>(orgUrl(org, "/onboarding")),
    enabled: org !== "",
    staleTime: 0,
    refetchOnMount: "always",
  });
}

/** Hides the card for the caller. `quiet`: keep what is on screen (the "all set" card stays until the next visit). */
export function useDismissOnboarding(org: string, opts: { quiet?: boolean } = {}) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => api.post<void>(orgUrl(org, "/onboarding/dismiss")),
    onSuccess: () => {
      if (opts.quiet) return;
      qc.setQueryData<Onboarding>(onboardingKey(org), (old) => (old ? { ...old, dismissed: true } : old));
    },
  });
}
