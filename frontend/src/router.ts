import { createRouter, createWebHistory } from 'vue-router'
import type { Role } from './api/client'
import { homeOf, loadMe } from './session'

const RoleHome = () => import('./views/RoleHome.vue')

declare module 'vue-router' {
  interface RouteMeta {
    /** Roles allowed here; absent means any logged-in user. */
    roles?: Role[]
    /** Open without logging in (the family's survey page). */
    public?: boolean
  }
}

export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/login', component: () => import('./views/LoginView.vue') },
    { path: '/admin', component: RoleHome, props: { area: 'admin' }, meta: { roles: ['admin'] } },
    { path: '/bureau', component: RoleHome, props: { area: 'bureau' }, meta: { roles: ['bureau'] } },
    { path: '/bureau/scorecard', component: () => import('./views/coverage/ScorecardView.vue'), meta: { roles: ['bureau', 'admin', 'worker'] } },
    { path: '/bureau/map', component: () => import('./views/coverage/CoverageMap.vue'), meta: { roles: ['bureau', 'admin', 'worker'] } },
    { path: '/bureau/trends', component: () => import('./views/coverage/TrendsView.vue'), meta: { roles: ['bureau', 'admin', 'worker'] } },
    { path: '/console', component: RoleHome, props: { area: 'worker' }, meta: { roles: ['worker'] } },
    { path: '/console/alarms', component: () => import('./views/console/AlarmList.vue'), meta: { roles: ['worker', 'admin'] } },
    { path: '/console/responders', component: () => import('./views/responders/RespondersView.vue'), meta: { roles: ['worker', 'admin'] } },
    {
      path: '/console/alarms/:id(\\d+)',
      component: () => import('./views/console/AlarmScreen.vue'),
      meta: { roles: ['worker', 'admin'] },
    },
    { path: '/console/board', component: () => import('./views/dispatch/DispatchBoard.vue'), meta: { roles: ['worker', 'admin'] } },
    { path: '/console/routes', component: () => import('./views/dispatch/RouteSheets.vue'), meta: { roles: ['worker', 'admin'] } },
    { path: '/console/timebank', component: () => import('./views/timebank/TimebankAccounts.vue'), meta: { roles: ['worker', 'admin'] } },
    {
      path: '/console/timebank/:id(\\d+)',
      component: () => import('./views/timebank/TimebankAccount.vue'),
      meta: { roles: ['worker', 'admin'] },
    },
    { path: '/console/seniors', component: () => import('./views/seniors/SeniorList.vue'), meta: { roles: ['worker', 'admin'] } },
    { path: '/console/seniors/new', component: () => import('./views/seniors/SeniorForm.vue'), meta: { roles: ['worker', 'admin'] } },
    {
      path: '/console/seniors/:id(\\d+)',
      component: () => import('./views/seniors/SeniorProfile.vue'),
      meta: { roles: ['worker', 'admin'] },
    },
    {
      path: '/console/seniors/:id(\\d+)/edit',
      component: () => import('./views/seniors/SeniorForm.vue'),
      props: (to) => ({ seniorId: Number(to.params.id) }),
      meta: { roles: ['worker', 'admin'] },
    },
    { path: '/console/surveys', component: () => import('./views/surveys/CallList.vue'), meta: { roles: ['worker', 'admin'] } },
    {
      path: '/console/surveys/analysis',
      component: () => import('./views/surveys/SurveyAnalysis.vue'),
      meta: { roles: ['worker', 'admin', 'bureau'] },
    },
    { path: '/console/cases', component: () => import('./views/cases/CaseQueue.vue'), meta: { roles: ['worker', 'admin'] } },
    { path: '/s/:token', component: () => import('./views/surveys/FamilySurvey.vue'), props: true, meta: { public: true } },
    { path: '/app', component: () => import('./mobile/ResponderHome.vue'), meta: { roles: ['caregiver', 'volunteer'] } },
    { path: '/:rest(.*)*', redirect: '/' },
    { path: '/', redirect: '/login' },
  ],
})

router.beforeEach(async (to) => {
  if (to.meta.public) return true
  const me = await loadMe()
  if (to.path === '/login' || to.path === '/') {
    return me ? homeOf(me.role) : to.path === '/' ? '/login' : true
  }
  if (!me) return { path: '/login', query: { next: to.fullPath } }
  if (to.meta.roles && !to.meta.roles.includes(me.role)) return homeOf(me.role)
  return true
})
