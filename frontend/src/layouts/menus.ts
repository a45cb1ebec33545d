// The side menu of each desktop console. Items with a path link to their page; the
// others are shown disabled as "coming".
import type { Role } from '../api/client'

export interface MenuItem {
  label: string
  path?: string
}

type Translate = (key: string) => string

export function consoleMenu(role: Role | undefined, t: Translate): MenuItem[] {
  switch (role) {
    case 'admin':
      return [
        { label: t('nav.adminHome'), path: '/admin' },
        { label: t('worker.dispatch'), path: '/console/board' },
        { label: t('worker.routes'), path: '/console/routes' },
        { label: t('worker.responders'), path: '/console/responders' },
        { label: t('worker.alarms'), path: '/console/alarms' },
        { label: t('worker.seniors'), path: '/console/seniors' },
        { label: t('worker.timebank'), path: '/console/timebank' },
        { label: t('worker.surveys'), path: '/console/surveys' },
        { label: t('worker.cases'), path: '/console/cases' },
        { label: t('surveys.analysis'), path: '/console/surveys/analysis' },
        { label: t('admin.users') },
        { label: t('admin.communities') },
        { label: t('admin.rules') },
        { label: t('admin.jobs') },
      ]
    case 'bureau':
      return [
        { label: t('nav.bureauHome'), path: '/bureau' },
        { label: t('bureau.map'), path: '/bureau/map' },
        { label: t('bureau.scorecard'), path: '/bureau/scorecard' },
        { label: t('bureau.trends'), path: '/bureau/trends' },
        { label: t('surveys.analysis'), path: '/console/surveys/analysis' },
      ]
    case 'worker':
      return [
        { label: t('nav.home'), path: '/console' },
        { label: t('worker.seniors'), path: '/console/seniors' },
        { label: t('worker.dispatch'), path: '/console/board' },
        { label: t('worker.routes'), path: '/console/routes' },
        { label: t('worker.responders'), path: '/console/responders' },
        { label: t('worker.timebank'), path: '/console/timebank' },
        { label: t('worker.alarms'), path: '/console/alarms' },
        { label: t('worker.surveys'), path: '/console/surveys' },
        { label: t('worker.cases'), path: '/console/cases' },
        { label: t('surveys.analysis'), path: '/console/surveys/analysis' },
      ]
    default:
      return []
  }
}
