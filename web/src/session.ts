// Who is signed in: the token (kept in localStorage) and the /api/me it names.
import { useSyncExternalStore } from "react";
import { useQuery } from "@tanstack/react-query";
import { get, getToken, onTokenChange, type Me } from "./api";

export function useToken(): string | null {
  return useSyncExternalStore(onTokenChange, getToken);
}

/** The signed-in user (with the unread count), or undefined while loading or signed out. */
export function useMe() {
  const token = useToken();
  return useQuery({ queryKey: ["me", token], queryFn: () => get<Me>("/api/me"), enabled: !!token, staleTime: 30_000 });
}

/** Whether the signed-in user may moderate (as /api/me says). */
export function useIsModerator(): boolean {
  return useMe().data?.moderator === true;
}
