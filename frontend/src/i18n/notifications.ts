// The service worker's notification texts in both languages. The worker cannot load
// the app's dictionaries without carrying all of them, so its few words live here;
// the page tells it the user's language (stored as `locale`).
export const NOTIFICATIONS = {
  'zh-CN': {
    offer: '新任务邀请',
    offerTitle: '新任务邀请：{kind}',
    offerBody: '点开查看',
    offerDistance: '距您约 {d}',
    alarm: '紧急呼叫，请立即处理',
    assigned: '给您派了新任务',
    assignedBody: '{kind}，点开查看',
    taken: '已被他人接单',
    withdrawn: '这个邀请已撤回',
    accepted: '已接单，请尽快出发',
    acceptFailed: '没有接上，请打开应用重试',
    accept: '接单',
    decline: '谢绝',
    other: '邻里有新消息',
    task: '任务',
    metres: '{n} 米',
    kilometres: '{n} 公里',
    kinds: { emergency: '紧急呼叫', meal_delivery: '助餐送餐', home_bed: '家庭床位护理', housekeeping: '家政保洁', bathing: '助浴', companionship: '陪伴探访', welfare_check: '安全确认' },
  },
  en: {
    offer: 'New task offer',
    offerTitle: 'New offer: {kind}',
    offerBody: 'Tap to see it',
    offerDistance: 'About {d} from you',
    alarm: 'Emergency call: act now',
    assigned: 'A task was assigned to you',
    assignedBody: '{kind}: tap to see it',
    taken: 'Taken by someone else',
    withdrawn: 'This offer was withdrawn',
    accepted: 'Accepted: please set off soon',
    acceptFailed: 'Could not accept; open the app and try again',
    accept: 'Accept',
    decline: 'Decline',
    other: 'News from Linli',
    task: 'Task',
    metres: '{n} m',
    kilometres: '{n} km',
    kinds: { emergency: 'Emergency call', meal_delivery: 'Meal delivery', home_bed: 'Home-bed nursing', housekeeping: 'Housekeeping', bathing: 'Bathing', companionship: 'Companionship visit', welfare_check: 'Welfare check' },
  },
} as const

export type NotificationLocale = keyof typeof NOTIFICATIONS
