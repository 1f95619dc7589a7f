// The states a member can be in, as this node sees it; the one definition every layer uses.
export const MEMBER_STATES = ['alive', 'suspect', 'dead', 'left'] as const
export type MemberState = (typeof MEMBER_STATES)[number]
